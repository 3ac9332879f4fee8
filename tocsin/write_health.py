"""Whether the store accepts writes, for ``/-/ready``: a full disk is not ready.

A store can answer reads (and Redis its PING) while every write fails: a full disk
(SQLite's SQLITE_FULL), Redis over ``maxmemory`` with ``noeviction``, or refusing writes
after a failed snapshot. Two signals, on the injected clock:

- the outcome of the real writes (appends, commits, silences, cursors): a failure
  with no success since, within the last ``FAILURE_WINDOW``, is not ready;
- a tiny write probe (a cursor of its own) when ``/-/ready`` is asked, at most every
  ``PROBE_INTERVAL``, so that an idle server that cannot write says so too.

The store is wrapped to see the writes; everything else passes straight through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock
from core.errors import StoreError
from core.model import Alert
from core.silence import Silence
from core.store import CorrelationCommit, Store, VersionConflict
from core.timestamps import format_rfc3339

FAILURE_WINDOW = timedelta(seconds=30)
PROBE_INTERVAL = timedelta(seconds=5)
# A probe that takes longer than this counts as failed: a writer stuck on a full disk.
_PROBE_DEADLINE_SECONDS = 5.0
PROBE_CURSOR = "tocsin-ready-write-probe"


class WriteHealth:
    """Remembers how the store's writes went; tells ``/-/ready`` whether it accepts them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failed_at: datetime | None = None
        self._failure = ""
        self._succeeded_at: datetime | None = None
        self._probed_at: datetime | None = None

    def succeeded(self) -> None:
        """A write was stored."""
        self._succeeded_at = self._clock.now()

    def failed(self, error: StoreError) -> None:
        """A write failed; the reason is kept for ``/-/ready``."""
        self._failed_at = self._clock.now()
        # The cause says what the disk or server said (SQLITE_FULL, Redis' OOM), unless
        # the error's own text carries it already.
        cause = "" if error.__cause__ is None else str(error.__cause__)
        self._failure = f"{error}: {cause}" if cause and cause not in str(error) else str(error)

    async def problem(self, store: Store) -> str | None:
        """Why the store does not accept writes now, or None if it does.

        Probes with a tiny write when the last probe is older than PROBE_INTERVAL.
        """
        now = self._clock.now()
        if self._probed_at is None or now - self._probed_at >= PROBE_INTERVAL:
            self._probed_at = now
            await self._probe(store, now)
        failed_at = self._failed_at
        if failed_at is None or now - failed_at > FAILURE_WINDOW:
            return None
        if self._succeeded_at is not None and self._succeeded_at > failed_at:
            return None
        return f"the store does not accept writes (last failed {format_rfc3339(failed_at)}): " + (
            self._failure
        )

    async def _probe(self, store: Store, now: datetime) -> None:
        try:
            async with asyncio.timeout(_PROBE_DEADLINE_SECONDS):
                await store.save_cursor(PROBE_CURSOR, format_rfc3339(now))
        except TimeoutError:
            self.failed(StoreError(f"a write probe took over {_PROBE_DEADLINE_SECONDS:g}s"))
        except StoreError as exc:
            self.failed(exc)
        else:
            self.succeeded()


class WriteWatchingStore:
    """A Store that reports the outcome of its writes to a WriteHealth."""

    def __init__(self, store: Store, health: WriteHealth) -> None:
        self._store = store
        self._health = health

    async def append(self, alerts: Sequence[Alert]) -> None:
        """Appends alerts (see AlertLog.append), noting the outcome."""
        await self._watch(self._store.append(alerts))

    async def commit(self, commit: CorrelationCommit) -> None:
        """Commits a correlation step (see IncidentStore.commit), noting the outcome."""
        await self._watch(self._store.commit(commit))

    async def save_silence(self, silence: Silence) -> None:
        """Saves a silence, noting the outcome."""
        await self._watch(self._store.save_silence(silence))

    async def save_cursor(self, consumer: str, cursor: str) -> None:
        """Saves a cursor, noting the outcome."""
        await self._watch(self._store.save_cursor(consumer, cursor))

    async def _watch(self, write: Awaitable[None]) -> None:
        try:
            await write
        except VersionConflict:
            # A refused precondition (another writer came first): the store writes fine.
            raise
        except StoreError as exc:
            self._health.failed(exc)
            raise
        self._health.succeeded()

    def __getattr__(self, name: str) -> Any:
        # Only called for what this class does not define: the rest of the Store.
        return getattr(self._store, name)
