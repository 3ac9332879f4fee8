"""The correlator: consumes the alert log in order and turns alerts into incidents.

Several correlators may share a Redis store. The log is split into ``partitions`` by
group key; each partition is a consumer group owned by whoever holds its lease, so one
alert's entries are always correlated in order by one member, while members that still
meet on one incident (``continue`` routes, a lease changing hands) are kept apart by the
commit's compare-and-set.

Each step claims a batch of log entries, runs them through the stages (silence, inhibit,
dedup, flap, group, categorise) against a working set of incidents, a round of entries
at a time (see ``correlate.rounds``), and commits the incident changes, their timeline
events and the consumed positions in one atomic write. If
another correlator or an operator changed one of those incidents first, the commit is
refused and the whole step is redone from fresh reads; nothing is applied twice and no
update is lost. A sweep, driven by the same clock, handles what time alone decides
(``correlate.sweeping``): expiry of alerts no longer refreshed, delayed and flap
hold-down resolves, released hold-backs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import zlib
from collections.abc import Callable
from datetime import datetime

import structlog

from core.clock import Clock
from core.incident import OPEN_STATES
from core.model import Alert, LogEntry
from core.pipeline import Stage, sequence
from core.silence import SilenceState
from core.store import IncidentQuery, Store, VersionConflict
from correlate.context import CorrelationContext, MuteInForce
from correlate.firing import FiringIndex
from correlate.heads import HeadCache
from correlate.heartbeats import log_missing_heartbeats
from correlate.metrics import CorrelatorMetrics
from correlate.rounds import next_round
from correlate.routes import RouteCache
from correlate.stages.categorise import CategoriseStage
from correlate.stages.dedup import DedupStage
from correlate.stages.flap import FlapStage
from correlate.stages.group import GroupStage
from correlate.stages.inhibit import InhibitStage
from correlate.stages.mute import SilenceStage
from correlate.sweep_due import sweep_after_step
from correlate.sweeping import sweep_incident
from correlate.working import WorkingSet
from rules.correlation import Tuning
from rules.matchers import parse_matcher
from rules.model import Rules

GROUP = "correlate"
_MAX_ATTEMPTS = 8
# The largest step a correlator takes while catching up: about 0.4 s of a storm. From
# 8,000 to 16,000 entries, the per-step costs (silences, incident rows, the commit)
# took 4% less of a storm backlog's time.
_MAX_BATCH = 16_000
_OPEN_SCAN_LIMIT = 100_000
# How often the firing alerts of other members' incidents are re-read for inhibition.
_FIRING_REFRESH_SECONDS = 10.0
# How often the sweep reads every open incident, not only those due (see _sweep_query).
_FULL_SWEEP_SECONDS = 300.0

log = structlog.get_logger("tocsin.correlate")


async def _back_off(attempt: int) -> None:
    # Jittered, growing pauses stop two members from colliding on every retry.
    await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311  (not security)


def partition_of(rules: Rules, routes: RouteCache, alert: Alert, partitions: int) -> int:
    """Returns the partition of an alert: the group of its first route, hashed stably.

    All entries of one alert (same labels) land in one partition, so they are correlated
    in log order even with several correlators (a resolve is never applied before the
    firing it ends); and a group's alerts share a partition, so members rarely compete
    for one incident (only through ``continue`` routes).
    """
    if partitions <= 1:
        return 0
    group_key = routes.groups(rules, alert.fingerprint, alert.labels)[0][1]
    return zlib.crc32(group_key.encode()) % partitions


def correlation_pipeline() -> Stage[CorrelationContext]:
    """The stages in Tocsin's order: mutes before dedup, then flaps, grouping, categorisation."""
    return sequence(
        SilenceStage(), InhibitStage(), DedupStage(), FlapStage(), GroupStage(), CategoriseStage()
    )


class Correlator:
    """One member of the correlator group; several may share a Redis store."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], Rules],
        tuning: Tuning | None,
        clock: Clock,
        metrics: CorrelatorMetrics,
        *,
        member: str = "correlator-1",
        batch_size: int = 500,
        partitions: int = 1,
        lease_seconds: float = 30.0,
    ) -> None:
        self._store = store
        self._rules = rules
        self._tuning = tuning
        self._clock = clock
        self._metrics = metrics
        self._member = member
        self._batch_size = batch_size
        # Grows while the log is behind: a step pays once per incident it touches (its
        # row, its version check, its next sweep) and once per commit, so a storm costs
        # less per entry in bigger steps; shrinks back once the correlator caught up.
        self._claim_size: dict[str, int] = {}
        self._partitions = partitions
        self._lease_seconds = lease_seconds
        self._pipeline = correlation_pipeline()
        self._heads = HeadCache()
        self._routes = RouteCache()
        self._firing: FiringIndex | None = None
        # The sweep reads every open incident at first, after a reload, and every
        # _FULL_SWEEP_SECONDS; otherwise only the due ones (see _sweep_query).
        self._swept_rules: Rules | None = None
        self._full_sweep_at = 0.0
        self._firing_expires = 0.0

    async def step(self) -> int:
        """Correlates the next batch of every partition it holds; returns entries consumed."""
        consumed = 0
        for partition in await self.take_partitions():
            group = GROUP if self._partitions == 1 else f"{GROUP}-p{partition}"
            consumed += await self._step_partition(group, partition)
        return consumed

    async def take_partitions(self) -> list[int]:
        """Takes and keeps this member's fair share of the partition leases.

        Each live member aims at ceil(partitions / members), starting at a different
        partition, and gives up leases beyond its share when others join, so the work
        spreads over every replica; a dead member's leases expire and are taken over.
        """
        if self._partitions == 1:
            return [0]
        members = await self._store.live_members(GROUP, self._member, self._lease_seconds)
        share = -(-self._partitions // max(1, len(members)))
        start = members.index(self._member) * share if self._member in members else 0
        order = [(start + i) % self._partitions for i in range(self._partitions)]
        mine: list[int] = []
        for partition in order:
            name = f"{GROUP}-p{partition}"
            if len(mine) >= share:
                await self._store.release_lease(name, self._member)
            elif await self._store.hold_lease(name, self._member, self._lease_seconds):
                mine.append(partition)
        return mine

    async def _step_partition(self, group: str, partition: int) -> int:
        limit = self._claim_size.get(group, self._batch_size)
        entries = await self._store.claim(group, self._member, limit)
        behind = len(entries) == limit
        self._claim_size[group] = min(limit * 2, _MAX_BATCH) if behind else self._batch_size
        if not entries:
            return 0
        rules = self._rules()
        mine = [
            e
            for e in entries
            if partition_of(rules, self._routes, e.alert, self._partitions) == partition
        ]
        for attempt in range(_MAX_ATTEMPTS):
            try:
                await self._correlate(group, mine, tuple(e.cursor for e in entries))
                break
            except VersionConflict:
                self._metrics.conflicts.inc()
                await _back_off(attempt)
        else:
            # The entries stay claimed by this member and come back at its next step.
            log.warning("correlation step kept conflicting; will retry", group=group)
            return 0
        self._metrics.entries.inc(len(mine))
        newest = entries[-1].alert.received_at
        self._metrics.lag.set(max(0.0, (self._clock.now() - newest).total_seconds()))
        return len(entries)

    async def drain(self) -> int:
        """Steps until the log holds nothing more for this member; returns entries consumed."""
        total = 0
        while consumed := await self.step():
            total += consumed
        return total

    async def _correlate(
        self, group: str, entries: list[LogEntry], consumed: tuple[str, ...]
    ) -> None:
        now = self._clock.now()
        working = WorkingSet(self._store, self._heads)
        try:
            base = await self._context(working, now)
            start = 0
            while start < len(entries):
                run = await next_round(base, entries, start)
                await self._pipeline(base.at(run.positions, run.groups), run.alerts)
                start = run.end
            tuning = base.tuning
            commit = working.commit(
                group,
                consumed,
                lambda before, after, changed: sweep_after_step(
                    tuning, before, after, changed, now
                ),
            )
            await self._store.commit(commit)
        except BaseException:
            # Not committed (a conflict: another writer was at work; or a failure): the
            # alerts the step set in cached incidents go back, and what this member
            # remembers is forgotten, to be read again.
            working.abandon()
            self._heads.clear()
            self._firing = None
            raise
        working.committed(commit)
        self._metrics.opened.inc(sum(1 for i in commit.incidents if i.version == 1))

    async def _context(self, working: WorkingSet, now: datetime) -> CorrelationContext:
        rules = self._rules()
        mutes = [
            MuteInForce(
                tuple(parse_matcher(str(m)) for m in s.matchers),
                f"silence {s.id} by {s.created_by}: {s.comment}",
            )
            for s in await self._store.list_silences()
            if s.state(now) is SilenceState.ACTIVE
        ]
        mutes.extend(
            MuteInForce(s.matchers, f"silence {s.name or 'from rules'}: {s.comment}")
            for s in rules.silences
            if s.active_at(now)
        )
        mutes.extend(
            MuteInForce(w.matchers, f"maintenance window {w.name} ({w.describe()})")
            for w in rules.maintenance_windows
            if w.active_at(now)
        )
        return CorrelationContext(
            now=now,
            positions={},
            groups={},
            rules=rules,
            tuning=self._tuning or rules.correlation,
            mutes_in_force=tuple(mutes),
            firing=await self._firing_index(rules),
            working=working,
            routes=self._routes,
        )

    async def _firing_index(self, rules: Rules) -> FiringIndex:
        """Returns the firing alerts inhibition needs, re-read from the store now and then.

        Only inhibit rules need it. Between refreshes this member keeps it up to date
        with its own changes; other members' changes arrive with the next refresh.
        """
        if not rules.inhibit_rules:
            return FiringIndex()
        loop = asyncio.get_running_loop()
        if self._firing is None or loop.time() >= self._firing_expires:
            open_incidents = await self._store.list_incidents(
                IncidentQuery(states=OPEN_STATES, limit=_OPEN_SCAN_LIMIT)
            )
            self._firing = FiringIndex.of(open_incidents)
            self._firing_expires = loop.time() + _FIRING_REFRESH_SECONDS
        return self._firing

    async def sweep(self) -> int:
        """Applies what time alone decides to open incidents; returns how many changed.

        With several correlators, only the holder of the sweep lease sweeps.
        """
        if self._partitions > 1 and not await self._store.hold_lease(
            f"{GROUP}-sweep", self._member, self._lease_seconds
        ):
            return 0
        return await self._sweep_with_retries()

    async def _sweep_with_retries(self) -> int:
        for attempt in range(_MAX_ATTEMPTS):
            try:
                return await self._sweep_once()
            except VersionConflict:
                self._metrics.conflicts.inc()
                await _back_off(attempt)
        return 0

    async def _sweep_once(self) -> int:
        now = self._clock.now()
        rules = self._rules()
        await log_missing_heartbeats(self._store, rules, now)
        working = WorkingSet(self._store)
        ctx = await self._context(working, now)
        incidents = await self._store.list_incidents(self._sweep_query(rules, now))
        changed = written = 0
        for incident in incidents:
            working.add_loaded(incident)
            updated, decided = sweep_incident(ctx, incident)
            changed += decided
            if updated is not incident:
                working.put(updated)
                written += 1
        if written:
            try:
                await self._store.commit(working.commit(GROUP, ()))
            finally:
                # Swept incidents changed behind the caches' back.
                self._heads.clear()
                self._firing = None
        return changed

    def _sweep_query(self, rules: Rules, now: datetime) -> IncidentQuery:
        """Only the incidents due now; all open ones now and then, and after a reload.

        The full pass makes up for times worked out under other rules (a reload that
        shortens ``resolve_timeout``) and for incidents written by older versions.
        """
        loop_now = asyncio.get_running_loop().time()
        if rules is self._swept_rules and loop_now < self._full_sweep_at:
            return IncidentQuery(states=OPEN_STATES, sweep_due_by=now, limit=_OPEN_SCAN_LIMIT)
        self._swept_rules = rules
        self._full_sweep_at = loop_now + _FULL_SWEEP_SECONDS
        return IncidentQuery(states=OPEN_STATES, limit=_OPEN_SCAN_LIMIT)

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
