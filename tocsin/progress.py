"""The correlator's heartbeats: its event loop's liveness, its steps, its honest lag.

A correlator that stops making progress (a step spinning on the CPU, a stopped
process, a store call that never returns) must be told from one that is idle. Both
are quiet in the alert log, but an idle correlator still polls the store for new
entries every ``--correlator-poll-seconds``. So the correlator's store is wrapped:
each poll that finds nothing, and each commit of a step, is a completed step, and
sets ``tocsin_correlator_last_step_timestamp_seconds``. ``tocsin serve`` reads the
gauge from its child over the metrics socket and restarts a child whose gauge stopped
moving (see ``correlator_process``); with every other correlator it is on /metrics
for an alert on ``time() - tocsin_correlator_last_step_timestamp_seconds``.

A step may be long but live (a storm incident read in the store's thread), so the
parent does not judge hangs by steps: :class:`LoopTicker` counts a tick every second
from a task of the correlator's event loop (``tocsin_correlator_loop_ticks_total``),
whatever the steps do. A stopped process, or one whose loop a busy step holds, ticks
no more; one in a long step that awaits goes on ticking and is never killed.

Progress is told by the lag instead (:meth:`StepClock.lag_seconds`, which the
correlator's ``tocsin_correlator_lag_seconds`` reads when scraped): the age of the
oldest entry the correlator claimed and has not committed yet, so that it grows while
a long step runs; and when the correlator has not looked at the log for longer than a
poll (it starts up, or sweeps at length), the time since it last looked, since entries
may be waiting all that while.

The correlator never learns of this: it gets a Store like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from core.clock import Clock
from core.model import LogEntry
from core.store import CorrelationCommit, Store

LAST_STEP_METRIC = "tocsin_correlator_last_step_timestamp_seconds"
LOOP_TICKS_METRIC = "tocsin_correlator_loop_ticks_total"
# How often the event loop ticks: well within any heartbeat timeout.
TICK_SECONDS = 1.0
# The batches claimed and not committed that the lag remembers: a correlator holds two
# (one committing, one read ahead); more are claims a failed commit left behind.
_PENDING_BATCHES = 64


class LoopTicker:
    """Counts a tick every second from a task of the event loop: the loop is responsive."""

    def __init__(self, registry: CollectorRegistry, tick_seconds: float = TICK_SECONDS) -> None:
        self._ticks = Counter(
            LOOP_TICKS_METRIC.removesuffix("_total"),
            "Ticks of the correlator's event loop, one a second while it is responsive, "
            "however long its steps take.",
            registry=registry,
        )
        self._tick_seconds = tick_seconds

    def tick(self) -> None:
        """Counts one tick."""
        self._ticks.inc()

    async def run(self, stop: asyncio.Event) -> None:
        """Ticks until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._tick_seconds)


class StepClock:
    """Records when the correlator last completed a step, and how far behind the log it is."""

    def __init__(
        self, clock: Clock, registry: CollectorRegistry, *, poll_seconds: float = 1.0
    ) -> None:
        self._clock = clock
        self._gauge = Gauge(
            LAST_STEP_METRIC,
            "Unix time of the correlator's last completed step; an idle poll for new "
            "log entries counts as one.",
            registry=registry,
        )
        # Past a poll and a second more without a look at the log, entries may wait.
        self._looking_gap = timedelta(seconds=poll_seconds + 1.0)
        # Start-up counts as not looking: the first look may come late.
        self._looked_at = clock.now()
        # Per consumer group, per batch claimed and not committed: its last position and
        # its oldest receipt.
        self._pending: dict[str, deque[tuple[str, datetime]]] = {}
        self.completed()

    def completed(self) -> None:
        """Notes that a step completed now."""
        self._gauge.set(self._clock.now().timestamp())

    def claimed(self, group: str, entries: list[LogEntry], *, held_first: bool) -> None:
        """Notes a look at the log that found ``entries`` (oldest first) to correlate.

        ``held_first``: the claim returned the entries the member held before anything
        else (no ``after``), so finding none means it holds none: a batch it claimed and
        lost (its partition went to another member) no longer counts.
        """
        self._looked_at = self._clock.now()
        if entries:
            pending = self._pending.setdefault(group, deque(maxlen=_PENDING_BATCHES))
            pending.append((entries[-1].cursor, entries[0].alert.received_at))
        elif held_first:
            self._pending.pop(group, None)

    def committed(self, group: str, consumed: tuple[str, ...]) -> None:
        """Notes a commit that consumed these positions: their batches are correlated."""
        pending = self._pending.get(group)
        if consumed and pending:
            done = set(consumed)
            kept = [p for p in pending if p[0] not in done]
            self._pending[group] = deque(kept, maxlen=_PENDING_BATCHES)

    def lag_seconds(self) -> float:
        """How far behind the log the correlator is, or may be, now (see the module)."""
        now = self._clock.now()
        held = [received for pending in self._pending.values() for _, received in pending]
        if held:
            return max(0.0, (now - min(held)).total_seconds())
        unseen = now - self._looked_at
        return unseen.total_seconds() if unseen > self._looking_gap else 0.0


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
        self._steps.claimed(group, entries, held_first=after is None)
        if not entries:
            self._steps.completed()
        return entries

    async def commit(self, commit: CorrelationCommit) -> None:
        """Commits a step (or a sweep's change); when it returns, the step completed."""
        await self._store.commit(commit)
        self._steps.committed(commit.group, commit.consumed)
        self._steps.completed()

    def __getattr__(self, name: str) -> Any:
        # Only called for what this class does not define: the rest of the Store.
        return getattr(self._store, name)
