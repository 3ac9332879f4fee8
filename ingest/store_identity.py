"""Forgets the duplicate filter when the store it describes lost its data.

The filter answers "already stored" from memory. After a Redis restart without its data
(no AOF, or an asynchronous failover) that answer would be wrong, and a resent alert
would stay missing until its next refresh. The store has an identity (a token per life
of its data, ``core.store.StoreIdentity``); ingest reads it before answering, at most
once per ``interval`` and at once after a failed write, and forgets the filter when it
changed, so the next copy of every alert is written again.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from ingest.dedup import DuplicateFilter

# How stale the known identity may be when a duplicate is answered. Redis takes longer
# than this to restart, and a failed write (as Redis goes away) makes the next request
# check first, so a restarted store is noticed before the first duplicate it lost.
CHECK_INTERVAL = timedelta(seconds=1)

log = structlog.get_logger("tocsin.ingest")


class IdentitySource(Protocol):
    """What the watch reads: the store's identity (core.store.StoreIdentity)."""

    async def identity(self) -> str:
        """Returns a token that stays the same while the store keeps its data."""
        ...


class StoreIdentityWatch:
    """Checks the store's identity now and then; forgets the filter when it changed."""

    def __init__(
        self,
        store: IdentitySource,
        duplicates: DuplicateFilter,
        interval: timedelta = CHECK_INTERVAL,
    ) -> None:
        self._store = store
        self._duplicates = duplicates
        self._interval = interval
        self._identity: str | None = None
        self._checked_at: datetime | None = None
        self._checking: asyncio.Future[None] | None = None

    def doubt(self) -> None:
        """Makes the next :meth:`confirm` read the identity (a write just failed)."""
        self._checked_at = None

    async def confirm(self, now: datetime) -> None:
        """Returns once the identity was read within the interval; raises StoreError if not.

        Concurrent callers share one read.
        """
        checked = self._checked_at
        if checked is not None and checked <= now < checked + self._interval:
            return
        if self._checking is None:
            self._checking = asyncio.ensure_future(self._check(now))
        checking = self._checking
        try:
            await asyncio.shield(checking)
        finally:
            if checking.done() and self._checking is checking:
                self._checking = None

    async def _check(self, now: datetime) -> None:
        identity = await self._store.identity()
        if self._identity is not None and identity != self._identity:
            forgotten = len(self._duplicates)
            self._duplicates.clear()
            log.warning(
                "the store's identity changed (it may have lost its data); "
                "the duplicate filter was forgotten",
                forgotten=forgotten,
            )
        self._identity = identity
        self._checked_at = now
