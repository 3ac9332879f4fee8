"""The correlator's heartbeat: the time of its last completed step, as a metric.

A correlator that stops making progress (a step spinning on the CPU, a stopped
process, a store call that never returns) must be told from one that is idle. Both
are quiet in the alert log, but an idle correlator still polls the store for new
entries every ``--correlator-poll-seconds``. So the correlator's store is wrapped:
each poll that finds nothing, and each commit of a step, is a completed step, and
sets ``tocsin_correlator_last_step_timestamp_seconds``. ``tocsin serve`` reads the
gauge from its child over the metrics socket and restarts a child whose gauge stopped
moving (see ``correlator_process``); with every other correlator it is on /metrics
for an alert on ``time() - tocsin_correlator_last_step_timestamp_seconds``.

The correlator never learns of this: it gets a Store like any other.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from core.clock import Clock
from core.model import LogEntry
from core.store import CorrelationCommit, Store

LAST_STEP_METRIC = "tocsin_correlator_last_step_timestamp_seconds"


class StepClock:
    """Records when the correlator last completed a step, on its registry."""

    def __init__(self, clock: Clock, registry: CollectorRegistry) -> None:
        self._clock = clock
        self._gauge = Gauge(
            LAST_STEP_METRIC,
            "Unix time of the correlator's last completed step; an idle poll for new "
            "log entries counts as one.",
            registry=registry,
        )
        self.completed()

    def completed(self) -> None:
        """Notes that a step completed now."""
        self._gauge.set(self._clock.now().timestamp())


class ProgressReportingStore:
    """A Store that tells a StepClock when the correlator completes a step.

    Every other call passes straight through to the wrapped store.
    """

    def __init__(self, store: Store, steps: StepClock) -> None:
        self._store = store
        self._steps = steps

    async def claim(
        self, group: str, member: str, limit: int, *, after: str | None = None
    ) -> list[LogEntry]:
        """Claims entries; a poll that found none completed an (idle) step."""
        entries = await self._store.claim(group, member, limit, after=after)
        if not entries:
            self._steps.completed()
        return entries

    async def commit(self, commit: CorrelationCommit) -> None:
        """Commits a step (or a sweep's change); when it returns, the step completed."""
        await self._store.commit(commit)
        self._steps.completed()

    def __getattr__(self, name: str) -> Any:
        # Only called for what this class does not define: the rest of the Store.
        return getattr(self._store, name)
