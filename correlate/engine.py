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
hold-down resolves, released hold-backs, auto-close of resolved incidents.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

import structlog

from core.clock import Clock
from core.incident import OPEN_STATES, Incident
from core.model import LogEntry
from core.pipeline import Stage, sequence
from core.silence import Silence
from core.store import AlertEnds, CorrelationCommit, Store, VersionConflict
from correlate.context import CorrelationContext
from correlate.firing import FiringCache
from correlate.heads import DEFAULT_ALERT_BUDGET, HeadCache
from correlate.heartbeats import log_missing_heartbeats
from correlate.in_flight import InFlight
from correlate.known_labels import KnownLabels
from correlate.metrics import CorrelatorMetrics
from correlate.mute_follow import MuteFollower, follow_mutes
from correlate.mutes import CompiledSilences, SilenceReader, mutes_in_force
from correlate.partitions import GROUP, group_of, partition_of, take_partitions
from correlate.read_ahead import ReadAhead
from correlate.rounds import next_round
from correlate.routes import RouteCache
from correlate.stages.acknowledge import SourceAcknowledgeStage
from correlate.stages.categorise import CategoriseStage
from correlate.stages.dedup import DedupStage
from correlate.stages.expiry import ExpiryConfirmStage
from correlate.stages.flap import FlapStage
from correlate.stages.group import GroupStage
from correlate.stages.inhibit import InhibitStage
from correlate.stages.mute import SilenceStage
from correlate.sweep_due import sweep_after_step
from correlate.sweeping import SweepScope, expiring, sweep_incident
from correlate.working import WorkingSet
from rules.correlation import Tuning
from rules.model import Rules

_MAX_ATTEMPTS = 8
# The largest step a correlator takes while catching up: about 0.4 s of a storm. From
# 8,000 to 16,000 entries, the per-step costs (silences, incident rows, the commit)
# took 4% less of a storm backlog's time.
_MAX_BATCH = 16_000
# The least time between two sweeps that a change of mutes calls for: while criticals
# fire one step after another, a sweep per step would cost more than it tells.
_MUTE_SWEEP_GAP = 0.5
# How long alerts' latest ends are kept after they passed (AlertEnds): longer than any
# correlator lag, so that an end is never forgotten before the sweep judged it.
_KEEP_ENDS = timedelta(hours=1)
# How long the incident event stream keeps what every consumer group has consumed
# (core.store.events): a consumer group created later starts with this much history.
KEEP_INCIDENT_EVENTS = timedelta(days=7)

log = structlog.get_logger("tocsin.correlate")


async def _back_off(attempt: int) -> None:
    # Jittered, growing pauses stop two members from colliding on every retry.
    await asyncio.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311  (not security)


def correlation_pipeline(
    metrics: CorrelatorMetrics | None = None, ends: AlertEnds | None = None
) -> Stage[CorrelationContext]:
    """The stages in Tocsin's order: mutes before dedup, then flaps, grouping, categorisation.

    A source's acknowledgement goes on its incident's timeline first, and goes no further.
    Resolves that confirm an expiry are found (reading ``ends``) before dedup counts them.
    """
    return sequence(
        SourceAcknowledgeStage(),
        SilenceStage(),
        InhibitStage(),
        ExpiryConfirmStage(ends),
        DedupStage(None if metrics is None else metrics.late_copies),
        FlapStage(),
        GroupStage(),
        CategoriseStage(),
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
        cache_alerts: int = DEFAULT_ALERT_BUDGET,
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
        self._pipeline = correlation_pipeline(metrics, store)
        # Bounded by the alerts the cached heads hold (correlate.heads): the memory it keeps.
        self._heads = HeadCache(alert_budget=cache_alerts)
        self._routes = RouteCache()
        self._firing = FiringCache()
        self._sweep_scope = SweepScope()
        # Operator silences compiled once per version; what the open incidents' mutes
        # were last brought in line with, and whether a step saw that change since.
        self._silences = CompiledSilences()
        self._mutes = MuteFollower()
        self._mutes_changed = False
        # The commit of the last step while the next one runs, and that next step's
        # entries and silences, read while the last one was correlated.
        self._in_flight: InFlight | None = None
        self._silence_reader = SilenceReader(store)
        self._known_labels = KnownLabels(store, clock)
        self._read_ahead = ReadAhead(store, member, self._silence_reader.read)
        # Entries consumed by commits that landed, for drain()'s count.
        self._landed_entries = 0
        # Whether a busy step rang ``committed`` before its commit landed (run).
        self._committed_since_ring = False
        # Per consumer group, the log's time up to which every entry has been correlated
        # (correlate.sweeping judges by it), and the groups the last step held.
        self._log_time: dict[str, datetime] = {}
        self._stepped: set[str] = set()

    async def step(self, *, overlap: bool = False) -> int:
        """Correlates the next batch of every partition it holds; returns entries claimed.

        Its commit has landed when it returns, unless ``overlap``: then it may still be in
        flight while the next step runs (correlate.in_flight), and :meth:`settle` waits
        for it.
        """
        if not overlap:
            await self.settle()
        consumed = 0
        stepped: set[str] = set()
        for partition in await self.take_partitions():
            group = group_of(partition, self._partitions)
            stepped.add(group)
            consumed += await self._step_partition(group, partition, overlap)
        self._stepped = stepped
        return consumed

    async def settle(self) -> bool:
        """Waits for the commit in flight, if any; False if it failed (it is then undone).

        A failed commit's entries are claimed again by the next step. A conflict is
        counted; any other failure is raised once the step is undone.
        """
        in_flight, self._in_flight = self._in_flight, None
        return True if in_flight is None else await self._landed(in_flight, None)

    @property
    def cached_alerts(self) -> int:
        """How many alerts the head cache holds now (bounded by ``cache_alerts``)."""
        return self._heads.alerts

    async def take_partitions(self) -> list[int]:
        """Takes and keeps this member's fair share of the partition leases (partitions.py)."""
        return await take_partitions(
            self._store, self._member, self._partitions, self._lease_seconds
        )

    async def _step_partition(self, group: str, partition: int, overlap: bool) -> int:
        limit = self._claim_size.get(group, self._batch_size)
        in_flight = self._in_flight
        after = None if in_flight is None or in_flight.group != group else in_flight.last_position
        claimed_at = self._clock.now()
        read = await self._read_ahead.take(group, after)
        if read is None:
            entries = await self._store.claim(group, self._member, limit, after=after)
            silences: list[Silence] | None = None
        else:
            entries, silences = read
        behind = len(entries) == limit
        self._claim_size[group] = min(limit * 2, _MAX_BATCH) if behind else self._batch_size
        entries = await self._known_labels.fill(entries)
        if not entries:
            if after is None:  # nothing in flight either: correlated up to the claim
                self._log_time[group] = claimed_at
                self._metrics.lag.set(0.0)
            return 0
        # How far the log is correlated once this batch lands: up to the claim if it read
        # the log to its end, else (behind, or read ahead earlier) up to its last entry.
        newest = claimed_at if not behind and read is None else entries[-1].alert.received_at
        if overlap and behind:
            # More is waiting: it is read while this batch is correlated (read_ahead).
            self._read_ahead.start(group, entries[-1].cursor, self._claim_size[group])
            await asyncio.sleep(0)  # lets the reads go out now, ahead of this step's commit
        rules = self._rules()
        mine = [
            e
            for e in entries
            if partition_of(rules, self._routes, e.alert, self._partitions) == partition
        ]
        if overlap:
            return await self._step_overlapping(group, entries, mine, silences, newest)
        consumed = tuple(e.cursor for e in entries)
        for attempt in range(_MAX_ATTEMPTS):
            try:
                working, commit = await self._prepare(group, mine, consumed, silences)
                await self._commit(working, commit)
                break
            except VersionConflict:
                self._metrics.conflicts.inc()
                await _back_off(attempt)
        else:
            # The entries stay claimed by this member and come back at its next step.
            log.warning("correlation step kept conflicting; will retry", group=group)
            return 0
        self._count(group, commit, len(entries), len(mine), newest)
        return len(entries)

    async def _step_overlapping(
        self,
        group: str,
        entries: list[LogEntry],
        mine: list[LogEntry],
        silences: list[Silence] | None,
        newest: datetime,
    ) -> int:
        """Correlates on top of the commit in flight, then leaves its own in flight."""
        consumed = tuple(e.cursor for e in entries)
        working, commit = await self._prepare(group, mine, consumed, silences)
        prior, self._in_flight = self._in_flight, None
        if prior is not None and not await self._landed(prior, working):
            return 0  # both batches are claimed again, in order
        self._in_flight = InFlight.start(
            self._store,
            group,
            entries[-1].cursor,
            working,
            commit,
            (len(entries), len(mine)),
            newest,
        )
        return len(entries)

    async def _landed(self, in_flight: InFlight, later: WorkingSet | None) -> bool:
        """Waits for a commit in flight; if it failed, undoes it and ``later``, built on it."""
        try:
            await in_flight.landed()
        except BaseException as exc:
            if later is not None:
                later.abandon()
            self._abandon(in_flight.working)
            if not isinstance(exc, VersionConflict):
                raise
            self._metrics.conflicts.inc()
            return False
        self._count(
            in_flight.group,
            in_flight.commit,
            in_flight.claimed,
            in_flight.correlated,
            in_flight.newest,
        )
        return True

    def _count(
        self,
        group: str,
        commit: CorrelationCommit,
        claimed: int,
        correlated: int,
        newest: datetime,
    ) -> None:
        """Records a commit that landed: its entries, its new incidents, the log's time, the lag.

        ``newest`` is the log's time up to which the group is now correlated.
        """
        self._log_time[group] = max(newest, self._log_time.get(group, newest))
        self._landed_entries += claimed
        self._metrics.entries.inc(correlated)
        self._metrics.opened.inc(sum(1 for i in commit.incidents if i.version == 1))
        self._metrics.lag.set(max(0.0, (self._clock.now() - newest).total_seconds()))
        self._metrics.cached_alerts.set(self._heads.alerts)

    async def drain(self) -> int:
        """Steps until the log holds nothing more for this member; returns entries consumed.

        Each step's commit overlaps the next step; all have landed when it returns.
        """
        before = self._landed_entries
        while await self.step(overlap=True) or not await self.settle():
            pass
        return self._landed_entries - before

    async def _prepare(
        self,
        group: str,
        entries: list[LogEntry],
        consumed: tuple[str, ...],
        silences: list[Silence] | None,
    ) -> tuple[WorkingSet, CorrelationCommit]:
        """Runs the entries through the stages; returns the working set and its commit.

        ``silences`` are the operators' silences read with the entries (None: read now).
        """
        now = self._clock.now()
        self._heads.new_step()
        working = WorkingSet(self._store, self._heads)
        try:
            base = await self._context(working, now, silences)
            start = 0
            while start < len(entries):
                run = await next_round(base, entries, start)
                await self._pipeline(base.at(run.positions, run.groups), run.alerts)
                start = run.end
            # Mutes in force or inhibiting alerts changed: the sweep brings open incidents
            # in line at once (see run), not at its next period.
            self._mutes_changed = self._mutes_changed or self._mutes.pending(base)
            commit = working.commit(
                group,
                consumed,
                lambda before, after, changed: sweep_after_step(
                    base.tuning_of(after), before, after, changed, now
                ),
            )
        except BaseException:
            self._abandon(working)
            raise
        return working, commit

    async def _commit(self, working: WorkingSet, commit: CorrelationCommit) -> None:
        """Writes the step's commit and waits for it."""
        try:
            await self._store.commit(commit)
        except BaseException:
            self._abandon(working)
            raise
        working.committed(commit)

    def _abandon(self, working: WorkingSet) -> None:
        # Not committed (a conflict: another writer was at work; or a failure): the alerts
        # the step set in cached incidents go back, and what this member remembers is
        # forgotten, to be read again.
        working.abandon()
        self._heads.clear()
        self._firing.forget()
        self._read_ahead.drop()

    async def _context(
        self, working: WorkingSet, now: datetime, silences: list[Silence] | None = None
    ) -> CorrelationContext:
        rules = self._rules()
        if silences is None:
            silences = await self._silence_reader.read()
        return CorrelationContext(
            now=now,
            positions={},
            groups={},
            rules=rules,
            tuning=self._tuning or rules.correlation,
            mutes_in_force=mutes_in_force(silences, rules, now, self._silences),
            firing=await self._firing.get(self._store, rules),
            working=working,
            routes=self._routes,
            most_urgent=self._routes.most_urgent(rules),
        )

    async def sweep(self) -> int:
        """Applies what time alone decides to open incidents; returns how many changed.

        With several correlators, only the holder of the sweep lease sweeps. It takes a
        step first (a commit in flight lands: the sweep reads the incidents from the
        store), and judges at the log's time: up to now if that step read the log to its
        end, else the receipt of the last entry correlated. A correlator behind the log
        thus never expires an alert whose refresh it has not read yet, nor cuts a delay
        short (issue 9 item 10).
        """
        await self.step()
        self._mutes_changed = False
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

    def log_time(self) -> datetime:
        """The log's time up to which this member has correlated every entry (at most now)."""
        now = self._clock.now()
        times = [self._log_time[g] for g in self._stepped if g in self._log_time]
        return min([now, *times])

    async def _sweep_once(self) -> int:
        rules = self._rules()
        await log_missing_heartbeats(self._store, rules, self._clock.now())
        now = self.log_time()
        working = WorkingSet(self._store)
        ctx = await self._context(working, now)
        query = self._sweep_scope.query(rules, now)
        # The mutes in force changed: every open incident's mutes are brought in line
        # (correlate.mute_follow), and so they are whenever the sweep reads them all.
        everything = self._mutes.needs_all(ctx) or query.sweep_due_by is None
        if everything:
            query = replace(query, sweep_due_by=None, states=OPEN_STATES)
        read: dict[str, Incident] = {}
        swept: dict[str, Incident] = {}
        decided_ids: set[str] = set()
        incidents = await self._store.list_incidents(query)
        resolved = SweepScope.resolved_due(query, now)  # due to close themselves
        if resolved is not None:
            incidents += await self._store.list_incidents(resolved)
        # The latest ends senders gave since (duplicates are not logged): read before
        # any alert whose logged end passed is expired.
        latest_ends = await self._store.latest_ends(expiring(incidents, now))
        if query.sweep_due_by is None:
            # Now and then: ends that passed long ago can extend nothing any more.
            await self._store.forget_ends(now - _KEEP_ENDS)
            await self._store.trim_events(now - KEEP_INCIDENT_EVENTS)
        for incident in incidents:
            # A full sweep of many open incidents is long CPU work: between incidents the
            # loop serves its other tasks (the metrics a supervising parent reads).
            await asyncio.sleep(0)
            working.add_loaded(incident)
            updated, decided = sweep_incident(ctx, incident, latest_ends)
            if decided:
                decided_ids.add(incident.id)
                ctx.firing.update(updated)  # expiries may end an inhibition
            read[incident.id] = incident
            swept[incident.id] = updated
        remuted = await follow_mutes(ctx, self._mutes, swept, everything)
        written = 0
        for incident_id, updated in swept.items():
            if updated is not read.get(incident_id, working.incidents.get(incident_id)):
                working.put(updated)
                written += 1
        if written:
            try:
                await self._store.commit(working.commit(GROUP, ()))
            finally:
                # Swept incidents changed behind the caches' back.
                self._heads.clear()
                self._firing.forget()
        self._mutes.applied(ctx)
        return len(decided_ids | remuted)

    async def run(
        self,
        stop: asyncio.Event,
        *,
        poll_seconds: float,
        sweep_seconds: float,
        idle: Callable[[float], Awaitable[object]] | None = None,
        committed: Callable[[], None] | None = None,
    ) -> None:
        """Correlates until ``stop`` is set: steps while there is work, sweeps periodically.

        Steps overlap their commits while there is more to do; the last one lands before
        the correlator idles, sweeps or stops. ``idle(poll_seconds)`` waits between idle
        steps (default: until ``stop`` or the timeout); one that returns early, when new
        alerts are logged, makes correlation prompt. ``committed`` is called after a
        step's or the last commit, so whoever follows the incident stream can look now.
        """
        loop = asyncio.get_running_loop()
        next_sweep = last_sweep = loop.time()
        while not stop.is_set():
            try:
                consumed = await self.step(overlap=True)
                if consumed == 0 and not await self.settle():
                    continue  # the commit in flight failed: its entries come again now
                if committed is not None and (consumed or self._committed_since_ring):
                    # With overlap a step's commit lands during the next one: ring after
                    # each busy step, and once more when the last commit has landed.
                    self._committed_since_ring = bool(consumed)
                    committed()
                if loop.time() >= next_sweep or (
                    # A step saw the mutes in force or the inhibiting alerts change: the
                    # sweep brings open incidents in line soon, not at its next period.
                    self._mutes_changed and loop.time() >= last_sweep + _MUTE_SWEEP_GAP
                ):
                    await self.sweep()
                    last_sweep = loop.time()
                    next_sweep = last_sweep + sweep_seconds
                    if committed is not None:
                        # A sweep commits too (it may also step the log first): expiries,
                        # unmutes and auto-closes concern whoever follows the stream.
                        committed()
            except Exception:
                log.exception("correlation step failed; retrying")
                consumed = 0
            if consumed == 0:
                if idle is not None:
                    await idle(poll_seconds)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), poll_seconds)
        try:
            await self.settle()
        except Exception:
            log.exception("the last correlation commit failed; its entries come again")
        self._read_ahead.drop()
