"""Runs the correlator inside ``tocsin serve``, as a background task of the application."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from correlate.engine import Correlator
from correlate.metrics import CorrelatorMetrics
from tocsin.keys import CLOCK, REGISTRY, RULES, SETTINGS, STORE, WAKEUPS
from tocsin.progress import LoopTicker, ProgressReportingStore, StepClock

log = structlog.get_logger("tocsin.correlation")


def default_member_name() -> str:
    """Names this process among correlators sharing a store: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


async def correlator_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: correlates the alert log until the application stops.

    Stopping sets an event and awaits the task, so a step in flight finishes its commit.
    """
    settings = app[SETTINGS]
    rules_state = app[RULES]
    # The heartbeats a supervising parent (or an alert rule) watches: see tocsin/progress.py.
    steps = StepClock(app[CLOCK], app[REGISTRY], poll_seconds=settings.correlator_poll_seconds)
    store = ProgressReportingStore(app[STORE], steps)
    metrics = CorrelatorMetrics(app[REGISTRY])
    # Read when scraped: it grows while a step or the start-up is under way.
    metrics.lag.set_function(steps.lag_seconds)
    correlator = Correlator(
        store,
        lambda: rules_state.current.rules,
        None,  # the rules' correlation section, as reloaded
        app[CLOCK],
        metrics,
        member=settings.correlator_member or default_member_name(),
        partitions=settings.correlator_partitions,
        cache_alerts=settings.correlator_cache_alerts,
    )
    stop = asyncio.Event()
    # Woken by ingest's appends, its commits wake the paging stages (tocsin.wakeup).
    wakeups = app.get(WAKEUPS)
    woken = None if wakeups is None else wakeups.log.waiter()
    task = asyncio.create_task(
        correlator.run(
            stop,
            poll_seconds=settings.correlator_poll_seconds,
            sweep_seconds=settings.correlator_sweep_seconds,
            idle=None if woken is None else woken.wait,
            committed=None if wakeups is None else wakeups.incidents.ring,
        ),
        name="tocsin-correlator",
    )
    ticker = asyncio.create_task(LoopTicker(app[REGISTRY]).run(stop), name="tocsin-loop-ticks")
    log.info("correlator started", partitions=settings.correlator_partitions)
    yield
    stop.set()
    if woken is not None:
        woken.set()  # an idle wait ends now, not at its timeout
    await task
    await ticker
