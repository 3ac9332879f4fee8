"""Keeps the Alertmanager API's rendered open alerts up to date while the API is in use.

Rendering an open alert costs about 8 us of CPU (0.7 to 1.3 s for 100,000, in a worker
thread that shares the interpreter with the event loop). Karma and Grafana poll every
few seconds; a poll that found a storm's alerts unrendered would wait for that. So the
server renders on its own, as a request would (``OpenAlerts.read``: only what changed
since the last read): soon after it starts (dashboards reconnect after a restart), and
while the API was asked within :data:`IN_USE_FOR`, after each burst of correlator
commits (the ``incidents`` doorbell of ``tocsin.wakeup``) and every
:data:`INTERVAL_SECONDS` anyway (a replica sharing a Redis store commits without
ringing this one). A request then finds the alerts rendered, or waits for the render
under way rather than starting its own.

A burst is rendered once it pauses for :data:`QUIET_SECONDS`, or every
:data:`MOST_STALE_SECONDS` while it goes on: a storm's commits every few milliseconds
would otherwise mean a render each, reading every changed incident's alerts again.

The rendered alerts cost memory (about 1.4 KB each in ``serve``): once nobody asked for
:data:`IN_USE_FOR`, the keeper lets them go, and the next request renders them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.errors import StoreError
from core.store import IncidentStore
from rules.model import Rules
from tocsin.amapi.open_alerts import OpenAlerts
from tocsin.keys import CLOCK, RULES, STORE, WAKEUPS

log = structlog.get_logger("tocsin.amapi")

# After the server starts: let start-up's own work (the correlator child, the status
# page's first build) go first.
START_DELAY_SECONDS = 2.0
INTERVAL_SECONDS = 5.0
QUIET_SECONDS = 1.0
MOST_STALE_SECONDS = 10.0
IN_USE_FOR = timedelta(minutes=15)

# Waits up to the given seconds for a commit's ring; tells whether one came.
RingWait = Callable[[float], Awaitable[bool]]


@dataclass(slots=True)
class RenderSchedule:
    """When the keeper renders next, from the commits' rings (monotonic seconds).

    With no ring since the last render it waits :data:`INTERVAL_SECONDS` and renders;
    after a ring it waits for the commits to pause :data:`QUIET_SECONDS`, but never more
    than :data:`MOST_STALE_SECONDS` after the first ring.
    """

    first_ring: float | None = None

    def rung(self, now: float) -> None:
        """A commit rang at ``now``."""
        if self.first_ring is None:
            self.first_ring = now

    def rendered(self) -> None:
        """A render started: what rang before it is in it."""
        self.first_ring = None

    def wait_seconds(self, now: float) -> float:
        """How long to wait for another ring before rendering (0: render now)."""
        if self.first_ring is None:
            return INTERVAL_SECONDS
        return max(0.0, min(QUIET_SECONDS, self.first_ring + MOST_STALE_SECONDS - now))


class KeepWarm:
    """Renders ``open_alerts`` ahead of requests (see the module docstring)."""

    def __init__(self, open_alerts: OpenAlerts) -> None:
        self._open = open_alerts
        self._asked_at: datetime | None = None
        self.rounds = 0  # reads this keeper finished (a request's are not counted)

    def asked(self, at: datetime) -> None:
        """Records that a client asked for the open alerts at ``at``."""
        self._asked_at = at

    def in_use(self, now: datetime) -> bool:
        """Tells whether a client asked within IN_USE_FOR."""
        return self._asked_at is not None and now - self._asked_at <= IN_USE_FOR

    async def warm_once(self, store: IncidentStore, rules: Rules) -> None:
        """One read, as a request would make it: renders only what changed since the last."""
        async with self._open.read(store, rules):
            pass
        self.rounds += 1

    async def tend(self, now: datetime, store: IncidentStore, rules: Rules) -> None:
        """Renders what changed while the API is in use (the start counts as a request),
        else lets the rendered alerts go."""
        if self.rounds == 0 and self._asked_at is None:
            # Dashboards reconnect after a restart: the start counts as a request.
            self._asked_at = now
        if self.in_use(now):
            await self.warm_once(store, rules)
        elif self._open.holding:
            await self._open.forget()

    async def run(self, render: Callable[[], Awaitable[None]], ring: RingWait) -> None:
        """Renders after START_DELAY_SECONDS, then as :class:`RenderSchedule` says, until cancelled.

        ``render`` is one :meth:`tend` on the application's store and rules;
        ``ring`` waits for a correlator commit's ring.
        """
        await asyncio.sleep(START_DELAY_SECONDS)
        loop = asyncio.get_running_loop()
        schedule = RenderSchedule()
        while True:
            schedule.rendered()
            try:
                await render()
            except StoreError as exc:
                log.warning("alertmanager api: pre-render failed", error=str(exc))
            end_if_cancelled()
            while (seconds := schedule.wait_seconds(loop.time())) > 0:
                if not await ring(seconds):
                    break
                schedule.rung(loop.time())

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: runs :meth:`run` while the application runs."""
        wakeups = app.get(WAKEUPS)
        ring: RingWait = _no_ring if wakeups is None else wakeups.incidents.waiter().wait

        async def render() -> None:
            await self.tend(app[CLOCK].now(), app[STORE], app[RULES].current.rules)

        task = asyncio.create_task(self.run(render, ring), name="tocsin-amapi-prerender")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _no_ring(seconds: float) -> bool:
    """No doorbell (an application without wake-ups): waits out the interval."""
    await asyncio.sleep(seconds)
    return False
