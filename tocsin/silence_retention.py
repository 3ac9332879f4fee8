"""Deletes expired silences once their retention has passed (Alertmanager: 5 days).

Expired silences are kept so that operators can read back what was muted and why;
kept for ever, they would fill the store and every reader of silences would pay for
them. Every ``tocsin serve`` runs this; on a shared Redis each deletes the same ones,
which is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web

from core.clock import Clock
from core.errors import StoreError
from core.store import SilenceStore
from tocsin.keys import CLOCK, SETTINGS, STORE

log = structlog.get_logger("tocsin.silences")

# As Alertmanager's --silences.maintenance-interval: retention is days; a quarter of an
# hour late is nothing.
MAINTENANCE_INTERVAL_SECONDS = 15 * 60.0


async def delete_expired_silences(store: SilenceStore, clock: Clock, retention: timedelta) -> int:
    """Deletes the silences that ended more than ``retention`` ago; returns how many."""
    deleted = await store.delete_expired_silences(clock.now() - retention)
    if deleted:
        log.info(
            "expired silences deleted", count=deleted, retention_seconds=retention.total_seconds()
        )
    return deleted


async def silence_retention_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: deletes expired silences at start-up, then periodically."""
    stop = asyncio.Event()
    task = asyncio.create_task(_maintain(app, stop), name="tocsin-silence-retention")
    yield
    stop.set()
    await task


async def _maintain(app: web.Application, stop: asyncio.Event) -> None:
    retention = timedelta(seconds=app[SETTINGS].silence_retention_seconds)
    while not stop.is_set():
        try:
            await delete_expired_silences(app[STORE], app[CLOCK], retention)
        except StoreError as exc:
            # The store is down: the next round tries again; nothing is lost meanwhile.
            log.warning("expired silences not deleted", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), MAINTENANCE_INTERVAL_SECONDS)
