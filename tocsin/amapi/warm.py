"""Keeps the Alertmanager API's rendered open alerts ready before a client asks.

The first ``GET /api/v2/alerts`` after a start renders every open alert (about 8 us of
CPU each: 0.8 s at 100,000 alerts, more on a busy machine), and after a storm step the
next one renders what changed. Karma and Grafana poll every few seconds, so a person
opening a dashboard would wait for that render. Instead the server renders once soon
after it starts, and again every :data:`INTERVAL` while the API has been asked within
:data:`IN_USE_FOR`, off the event loop as a request would (``OpenAlerts.read``); a
request then finds the alerts rendered, or waits for the render under way rather than
starting a second one. A server nobody asks stops re-reading after :data:`IN_USE_FOR`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.errors import StoreError
from core.store import IncidentStore
from rules.model import Rules
from tocsin.amapi.open_alerts import OpenAlerts
from tocsin.keys import CLOCK, RULES, STORE

log = structlog.get_logger("tocsin.amapi")

# After the server starts: let start-up's own work (the correlator child, the status
# page's first build) go first.
START_DELAY = timedelta(seconds=2)
INTERVAL = timedelta(seconds=5)
IN_USE_FOR = timedelta(minutes=15)


class KeepWarm:
    """Renders ``open_alerts`` ahead of requests (see the module docstring)."""

    def __init__(self, open_alerts: OpenAlerts) -> None:
        self._open = open_alerts
        self._asked_at: datetime | None = None
        self.rounds = 0  # renders started by this keeper, not by a request

    def asked(self, at: datetime) -> None:
        """Records that a client asked for the open alerts at ``at``."""
        self._asked_at = at

    def wanted(self, now: datetime) -> bool:
        """Tells whether to read again: never read yet, or asked within IN_USE_FOR."""
        if self.rounds == 0:
            return True
        return self._asked_at is not None and now - self._asked_at <= IN_USE_FOR

    async def warm_once(self, store: IncidentStore, rules: Rules) -> None:
        """One read, as a request would make it: renders only what changed since the last."""
        self.rounds += 1
        async with self._open.read(store, rules):
            pass

    async def run(self, app: web.Application) -> None:
        """Reads after START_DELAY, then every INTERVAL while wanted, until cancelled."""
        await asyncio.sleep(START_DELAY.total_seconds())
        while True:
            if self.wanted(app[CLOCK].now()):
                try:
                    await self.warm_once(app[STORE], app[RULES].current.rules)
                except StoreError as exc:
                    log.warning("alertmanager api: pre-render failed", error=str(exc))
                end_if_cancelled()
            await asyncio.sleep(INTERVAL.total_seconds())

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: runs :meth:`run` while the application runs."""
        task = asyncio.create_task(self.run(app))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
