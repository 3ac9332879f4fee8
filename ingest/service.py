"""Stores decoded alerts: skips unchanged duplicates, appends the rest, returns once durable."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from core.errors import StoreError, StoreUnavailable
from core.model import Alert
from core.store import AlertLog
from ingest.dedup import DuplicateFilter
from ingest.metrics import IngestMetrics


@dataclass(frozen=True, slots=True)
class StoreResult:
    """How many alerts of a request were written and how many were unchanged duplicates."""

    stored: int
    deduplicated: int


class IngestService:
    """The write path every ingest endpoint shares."""

    def __init__(self, log: AlertLog, duplicates: DuplicateFilter, metrics: IngestMetrics) -> None:
        self._log = log
        self._duplicates = duplicates
        self._metrics = metrics

    async def store(self, source: str, alerts: list[Alert], now: datetime) -> StoreResult:
        """Makes every alert durable (written now, or already written) before returning.

        Raises StoreUnavailable if the store cannot take them; then nothing is acknowledged.
        """
        to_write: list[Alert] = []
        pending: set[asyncio.Future[None]] = set()
        for alert in alerts:
            verdict = self._duplicates.check(alert, now)
            if verdict is True:
                to_write.append(alert)
            elif verdict is not False and not verdict.done():
                pending.add(verdict)
        if to_write:
            await self._write(to_write, now)
        for write in pending:
            await _wait_for_earlier(write)
        deduplicated = len(alerts) - len(to_write)
        self._metrics.stored.labels(source).inc(len(to_write))
        self._metrics.deduplicated.labels(source).inc(deduplicated)
        self._metrics.accepted.labels(source).inc(len(alerts))
        self._metrics.remembered.set(len(self._duplicates))
        return StoreResult(stored=len(to_write), deduplicated=deduplicated)

    async def _write(self, alerts: list[Alert], now: datetime) -> None:
        durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._duplicates.remember(alerts, now, durable)
        try:
            await self._log.append(alerts)
        except StoreError as exc:
            self._duplicates.forget(alerts, durable)
            durable.set_exception(exc)
            durable.exception()  # retrieved here, so asyncio does not warn when nobody waits
            raise
        except BaseException:
            self._duplicates.forget(alerts, durable)
            durable.cancel()
            raise
        durable.set_result(None)
        self._duplicates.settled(alerts, durable)


async def _wait_for_earlier(write: asyncio.Future[None]) -> None:
    # The earlier request owns that write; shield it from this request's cancellation.
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        if write.cancelled():
            raise StoreUnavailable("the write this duplicate depends on was abandoned") from None
        raise
