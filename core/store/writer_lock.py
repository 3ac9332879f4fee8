"""A fair hand-over of an SQLite file's write lock between processes.

``tocsin serve`` and its correlator child write the same SQLite file. SQLite's own
busy handler makes a writer that finds the file locked sleep 1, 2, 5, 10... ms and
try again; a writer that commits back to back (ingest under a storm) takes the lock
again in between, and the other waited up to two seconds for it (measured: the
correlator spent 3.3 s of a 15 s storm in BEGIN IMMEDIATE). Each process therefore
takes an exclusive ``flock`` on a file beside the database around every write
transaction: the kernel wakes a waiter the moment the lock is released, so the writers
alternate. SQLite's locking still guards the file itself against writers that do not
know this lock (the ``sqlite3`` shell, say).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class WriterLock:
    """An exclusive lock on ``<database>-writer``, held around one write transaction."""

    def __init__(self, database: Path) -> None:
        self._path = database.with_name(database.name + "-writer")
        self._fd: int | None = None

    def open(self) -> None:
        """Opens (creating if needed) the lock file, readable and writable by the owner only."""
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)

    def close(self) -> None:
        """Closes the lock file; a lock still held is released with it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> None:
        if self._fd is None:
            raise RuntimeError("the writer lock is not open")
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
