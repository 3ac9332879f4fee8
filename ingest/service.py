"""Stores decoded alerts: skips unchanged duplicates, appends the rest, returns once durable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.errors import StoreError, StoreUnavailable
from core.model import Alert
from core.store import AlertEnds, AlertLog
from ingest.dedup import DuplicateFilter
from ingest.metrics import IngestMetrics
from ingest.store_identity import IdentitySource, StoreIdentityWatch


class IngestStore(AlertLog, AlertEnds, IdentitySource, Protocol):
    """What ingest writes to: the log, alerts' latest ends, and the store's identity."""


@dataclass(frozen=True, slots=True)
class StoreResult:
    """How many alerts of a request were written and how many were unchanged duplicates."""

    stored: int
    deduplicated: int


class IngestService:
    """The write path every ingest endpoint shares."""

    def __init__(
        self,
        log: IngestStore,
        duplicates: DuplicateFilter,
        metrics: IngestMetrics,
        appended: Callable[[], None] | None = None,
    ) -> None:
        """``appended`` is called after each write to the log (it wakes the correlator)."""
        self._log = log
        self._appended = appended
        self._duplicates = duplicates
        self._metrics = metrics
        self._identity = StoreIdentityWatch(log, duplicates)

    async def store(self, source: str, alerts: list[Alert], now: datetime) -> StoreResult:
        """Makes every alert durable (written now, or already written) before returning.

        New versions are appended; the later ends of duplicates are recorded in the same
        group commit (AlertEnds). Raises StoreUnavailable if the store cannot take them;
        then nothing is acknowledged.
        """
        await self._identity.confirm(now)
        triage = self._duplicates.triage(alerts, now)
        writes = []
        if triage.to_write:
            writes.append(self._write(triage.to_write, now))
        if triage.ends:
            writes.append(self._extend(triage.ends))
        if writes:
            # Queued together, so that SQLite's writer (or Redis' flusher) takes both
            # into one commit.
            outcomes = await asyncio.gather(*writes, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        for write in triage.pending:
            await _wait_for_earlier(write)
        self._metrics.stored.labels(source).inc(len(triage.to_write))
        self._metrics.deduplicated.labels(source).inc(triage.duplicates)
        self._metrics.accepted.labels(source).inc(len(alerts))
        self._metrics.remembered.set(len(self._duplicates))
        return StoreResult(stored=len(triage.to_write), deduplicated=triage.duplicates)

    async def _write(self, alerts: list[Alert], now: datetime) -> None:
        durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._duplicates.remember(alerts, now, durable)
        try:
            await self._log.append(alerts)
        except StoreError as exc:
            self._duplicates.forget(alerts, durable)
            self._identity.doubt()
            durable.set_exception(exc)
            durable.exception()  # retrieved here, so asyncio does not warn when nobody waits
            raise
        except BaseException:
            self._duplicates.forget(alerts, durable)
            durable.cancel()
            raise
        durable.set_result(None)
        self._duplicates.settled(alerts, durable)
        if self._appended is not None:
            self._appended()

    async def _extend(self, ends: Mapping[str, datetime]) -> None:
        try:
            await self._log.extend_ends(ends)
        except StoreError:
            self._identity.doubt()
            raise
        self._duplicates.extended(ends)


async def _wait_for_earlier(write: asyncio.Future[None]) -> None:
    # The earlier request owns that write; shield it from this request's cancellation.
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        if write.cancelled():
            raise StoreUnavailable("the write this duplicate depends on was abandoned") from None
        raise
