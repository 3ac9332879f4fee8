"""The correlator: consumes the alert log in order and turns alerts into incidents.

Each step claims a batch of log entries, runs every entry through the stages (silence,
inhibit, dedup, group) against a working set of incidents, and commits the incident
changes, their timeline events and the consumed positions in one atomic write. If
another correlator or an operator changed one of those incidents first, the commit is
refused and the whole step is redone from fresh reads; nothing is applied twice and no
update is lost. A sweep, driven by the same clock, handles what time alone decides:
expiry of alerts no longer refreshed, delayed and flap hold-down resolves, released
hold-backs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from core.clock import Clock
from core.incident import OPEN_STATES, Incident
from core.model import AlertStatus, LogEntry
from core.pipeline import Stage, sequence
from core.store import IncidentQuery, Store, VersionConflict
from correlate.context import CorrelationContext, OperatorSilence
from correlate.firing import FiringIndex
from correlate.metrics import CorrelatorMetrics
from correlate.stages.dedup import DedupStage
from correlate.stages.group import GroupStage, release_due, resolve_if_due
from correlate.stages.inhibit import InhibitStage
from correlate.stages.mute import SilenceStage
from correlate.tuning import Tuning
from correlate.working import WorkingSet
from rules.matchers import parse_matcher
from rules.model import Rules

GROUP = "correlate"
_MAX_ATTEMPTS = 5
_OPEN_SCAN_LIMIT = 100_000

log = structlog.get_logger("tocsin.correlate")


def correlation_pipeline() -> Stage[CorrelationContext]:
    """The stages in Tocsin's order: mutes before dedup, grouping last."""
    return sequence(SilenceStage(), InhibitStage(), DedupStage(), GroupStage())


class Correlator:
    """One member of the correlator group; several may share a Redis store."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], Rules],
        tuning: Tuning,
        clock: Clock,
        metrics: CorrelatorMetrics,
        *,
        member: str = "correlator-1",
        batch_size: int = 500,
    ) -> None:
        self._store = store
        self._rules = rules
        self._tuning = tuning
        self._clock = clock
        self._metrics = metrics
        self._member = member
        self._batch_size = batch_size
        self._pipeline = correlation_pipeline()

    async def step(self) -> int:
        """Correlates the next batch of log entries; returns how many it consumed."""
        entries = await self._store.claim(GROUP, self._member, self._batch_size)
        if not entries:
            return 0
        for _attempt in range(_MAX_ATTEMPTS):
            try:
                await self._correlate(entries)
                break
            except VersionConflict:
                self._metrics.conflicts.inc()
        else:
            raise VersionConflict(f"gave up after {_MAX_ATTEMPTS} conflicting attempts")
        self._metrics.entries.inc(len(entries))
        newest = entries[-1].alert.received_at
        self._metrics.lag.set(max(0.0, (self._clock.now() - newest).total_seconds()))
        return len(entries)

    async def drain(self) -> int:
        """Steps until the log holds nothing more for this member; returns entries consumed."""
        total = 0
        while consumed := await self.step():
            total += consumed
        return total

    async def _correlate(self, entries: list[LogEntry]) -> None:
        now = self._clock.now()
        working = WorkingSet(self._store)
        base = await self._context(working, now, entries[0].cursor)
        for entry in entries:
            ctx = replace(base, position=entry.cursor, mutes={}, duplicates=frozenset())
            await self._pipeline(ctx, [entry.alert])
        commit = working.commit(GROUP, tuple(e.cursor for e in entries))
        await self._store.commit(commit)
        self._metrics.opened.inc(sum(1 for i in commit.incidents if i.version == 1))

    async def _context(
        self, working: WorkingSet, now: datetime, position: str
    ) -> CorrelationContext:
        open_incidents = await self._store.list_incidents(
            IncidentQuery(states=OPEN_STATES, limit=_OPEN_SCAN_LIMIT)
        )
        silences = tuple(
            OperatorSilence(s, tuple(parse_matcher(str(m)) for m in s.matchers))
            for s in await self._store.list_silences()
            if s.ends_at > now
        )
        return CorrelationContext(
            now=now,
            position=position,
            rules=self._rules(),
            tuning=self._tuning,
            silences=silences,
            firing=FiringIndex.of(open_incidents),
            working=working,
        )

    async def sweep(self) -> int:
        """Applies what time alone decides to open incidents; returns how many changed."""
        for _attempt in range(_MAX_ATTEMPTS):
            try:
                return await self._sweep_once()
            except VersionConflict:
                self._metrics.conflicts.inc()
        return 0

    async def _sweep_once(self) -> int:
        now = self._clock.now()
        working = WorkingSet(self._store)
        ctx = await self._context(working, now, "0")
        incidents = await self._store.list_incidents(
            IncidentQuery(states=OPEN_STATES, limit=_OPEN_SCAN_LIMIT)
        )
        changed = 0
        for incident in incidents:
            working.add_loaded(incident)
            updated = self._expire(ctx, incident, now)
            if updated.held and release_due(self._tuning, updated, now):
                updated = replace(updated, held=False)
                working.event(updated, now, "released", firing=updated.firing_count())
            if updated.is_open and updated.firing_count() == 0:
                updated = resolve_if_due(ctx, updated, now, stale=updated is not incident)
            if updated is not incident:
                working.put(updated)
                changed += 1
        if changed:
            await self._store.commit(working.commit(GROUP, ()))
        return changed

    def _expire(self, ctx: CorrelationContext, incident: Incident, now: datetime) -> Incident:
        """Resolves alerts whose end passed, or that were not refreshed for the resolve timeout."""
        timeout = self._tuning.resolve_timeout
        alerts = dict(incident.alerts)
        for fingerprint, alert in incident.alerts.items():
            if alert.status is not AlertStatus.FIRING:
                continue
            expired = (alert.ends_at is not None and alert.ends_at <= now) or (
                alert.ends_at is None
                and timeout.total_seconds() > 0
                and now - alert.last_seen >= timeout
            )
            if expired:
                alerts[fingerprint] = replace(
                    alert, status=AlertStatus.RESOLVED, transitions=(*alert.transitions, now)
                )
                ctx.working.event(
                    incident,
                    now,
                    "alert_expired",
                    fingerprint=fingerprint,
                    reason="not refreshed before its end; the source may have died",
                )
        if alerts == dict(incident.alerts):
            return incident
        return replace(incident, alerts=alerts)

    async def run(self, stop: asyncio.Event, *, poll_seconds: float, sweep_seconds: float) -> None:
        """Correlates until ``stop`` is set: steps while there is work, sweeps periodically."""
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()
        while not stop.is_set():
            try:
                consumed = await self.step()
                if loop.time() >= next_sweep:
                    await self.sweep()
                    next_sweep = loop.time() + sweep_seconds
            except Exception:
                log.exception("correlation step failed; retrying")
                consumed = 0
            if consumed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_seconds)
