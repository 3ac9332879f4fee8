"""Storage protocols in domain terms, and the factory that opens a backend by URL.

Two backends implement every protocol here and pass one contract suite
(``tests/contract``): SQLite (the embedded default) and Redis (for several
Tocsin processes). Code outside this package sees only the protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.model import Alert, LogEntry


class AlertLog(Protocol):
    """The durable, ordered log of every alert Tocsin accepted."""

    async def append(self, alerts: Sequence[Alert]) -> None:
        """Appends alerts in order; when this returns they are durable.

        Raises StoreUnavailable when the store cannot take them now.
        """
        ...

    async def read(self, after: str | None, limit: int) -> list[LogEntry]:
        """Returns up to ``limit`` entries that follow cursor ``after`` (None: the start)."""
        ...


class CursorStore(Protocol):
    """Where each consumer of a log remembers how far it has read."""

    async def load_cursor(self, consumer: str) -> str | None:
        """Returns the consumer's saved cursor, or None if it never saved one."""
        ...

    async def save_cursor(self, consumer: str, cursor: str) -> None:
        """Saves the consumer's cursor durably."""
        ...


class Store(AlertLog, CursorStore, Protocol):
    """Everything Tocsin keeps, behind one connection to one backend."""

    async def open(self) -> None:
        """Connects to the backend and creates what it needs; call once before use."""
        ...

    async def ping(self) -> None:
        """Returns if the store can serve requests now; raises StoreUnavailable if not."""
        ...

    async def close(self) -> None:
        """Finishes pending writes and releases the backend's resources."""
        ...
