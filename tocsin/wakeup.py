"""Wake-ups between the stages, so a new alert is correlated and paged at once.

Without them each stage polls the store while idle (the correlator every
``correlator_poll_seconds``, the paging stages every 0.1 s), and a first page waited for
two polls: a quarter of a second at the median, half a second at p99. Two doorbells:

- ``log``: ingest appended alerts, so the correlator has work;
- ``incidents``: a correlator step committed, so the paging stages have work.

A ring sets an asyncio.Event per waiter in this process. Between ``tocsin serve`` and its
correlator child it is also a one-byte datagram on a UNIX socket in the parent's private
directory (``mkdtemp``: mode 0700, so only Tocsin's own user can ring): the parent rings
the child's ``wake-log.sock``, the child the parent's ``wake-incidents.sock``. A ring is
a hint, never the only way work is found: a datagram lost (a full buffer, a child
restarting) costs one poll, as before, and other replicas on a Redis store still poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path

LOG_SOCKET = "wake-log.sock"
INCIDENTS_SOCKET = "wake-incidents.sock"


class Waiter:
    """One stage's side of a doorbell: waits for a ring, or for a timeout."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def set(self) -> None:
        """Marks a ring: the next :meth:`wait` returns at once."""
        self._rung.set()

    async def wait(self, seconds: float) -> bool:
        """Returns at a ring (at once if one came since the last wait) or after ``seconds``.

        The ring is taken on return, before the caller's next step, so a ring during
        that step makes the following wait return at once: none is lost. Returns
        whether it rang.
        """
        if not self._rung.is_set():
            # asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._rung.wait()
        rung = self._rung.is_set()
        self._rung.clear()
        return rung


@dataclass(eq=False)
class Doorbell:
    """Rings every waiter in this process and, if set, a peer process's socket."""

    peer: Path | None = None
    _waiters: list[Waiter] = field(default_factory=list)
    _sender: socket.socket | None = None
    _listening: socket.socket | None = None
    _path: Path | None = None

    def waiter(self) -> Waiter:
        """A new waiter that every later ring reaches."""
        waiter = Waiter()
        self._waiters.append(waiter)
        return waiter

    def ring(self) -> None:
        """Wakes the waiters here and, best effort, the peer (never blocks, never raises)."""
        for waiter in self._waiters:
            waiter.set()
        if self.peer is None:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        # Nobody listening yet, or a ring already waiting in a full buffer: the peer
        # polls, or is woken anyway.
        with contextlib.suppress(OSError):
            self._sender.sendto(b"!", str(self.peer))

    def listen(self, path: Path) -> None:
        """Lets another process ring this bell through a datagram socket at ``path``."""
        path.unlink(missing_ok=True)
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listening.setblocking(False)
        listening.bind(str(path))
        self._listening, self._path = listening, path
        asyncio.get_running_loop().add_reader(listening.fileno(), self._heard)

    def _heard(self) -> None:
        listening = self._listening
        if listening is None:
            return
        # Every datagram waiting is one ring: take them all.
        with contextlib.suppress(OSError):
            while listening.recv(64):
                pass
        for waiter in self._waiters:
            waiter.set()

    def close(self) -> None:
        """Stops listening (removing the socket's file) and frees the sockets."""
        if self._listening is not None:
            with contextlib.suppress(ValueError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._listening.fileno())
            self._listening.close()
            self._listening = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
            self._path = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None


@dataclass(frozen=True, eq=False)
class Wakeups:
    """The application's two doorbells (see the module docstring)."""

    log: Doorbell = field(default_factory=Doorbell)
    incidents: Doorbell = field(default_factory=Doorbell)
