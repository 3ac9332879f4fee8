"""Runs the noise workload through the real correlator and scores its incidents.

The clock is a ManualClock moved tick by tick along the timeline. At each tick the
alerts are appended to the alert log (all of them, or only what ingest's duplicate
filter would write), the correlator drains the log, and a sweep applies what time
decides. After each tick an observer plays the escalation stage: for every new
``opened`` or ``reopened`` event it counts one notification, unless the incident is
muted or held at that moment.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry

from bench.correlator_harness import new_correlator
from bench.noise import SOURCE, NoiseWorkload, Problem, ProblemKind
from core.clock import ManualClock
from core.incident import Incident, IncidentEvent
from core.store import IncidentQuery, Store
from ingest.dedup import DuplicateFilter
from ingest.metrics import IngestMetrics
from ingest.service import IngestService
from rules.model import Rules

# Ingest's defaults (core/settings.py: dedup_refresh_seconds, a large dedup capacity).
INGEST_REFRESH = timedelta(seconds=300)
INGEST_CAPACITY = 100_000
TRIGGERS = frozenset({"opened", "reopened"})
_DEADLINE_S = 120.0
_LIST_LIMIT = 100_000


@dataclass(slots=True)
class ProblemScore:
    """How the incidents matched one real problem."""

    name: str
    kind: str
    hosts: int
    alerts_sent: int
    incidents: int  # incidents holding at least one of its alerts; 1 is right
    covered: float  # share of its alerts that are in one of those incidents
    notifications: int  # observed at open/reopen time
    expected_notifications: int
    reopens: int
    flapping: bool
    final_states: list[str] = field(default_factory=list)
    stale_resolved: int = 0


@dataclass(slots=True)
class NoiseResult:
    """One run of the noise workload on one store; ``error`` is set instead if it failed."""

    store: str
    log: str  # "raw" (every send appended) or "ingest" (through ingest's duplicate filter)
    error: str | None = None
    alerts_sent: int = 0
    alerts_logged: int = 0
    entries_correlated: int = 0
    incidents_opened: int = 0
    spurious_incidents: int = 0  # incidents that hold no alert of any real problem
    missed_problems: int = 0
    incidents_per_problem_max: int = 0
    notifications: int = 0
    notifications_expected: int = 0
    notifications_suppressed: int = 0  # opened/reopened while muted or held
    # The end-state rule: opened + reopened events of incidents that are unmuted at the end.
    notifications_end_rule: int = 0
    storm_reduction: float = 0.0  # 1 - incidents / distinct storm alerts
    storm_reduction_sent: float = 0.0  # 1 - incidents / storm alerts sent
    wall_s: float = 0.0  # the whole run, the observer's reads included
    correlator_s: float = 0.0  # inside drain() and sweep() only
    problems: list[ProblemScore] = field(default_factory=list)

    @classmethod
    def failed(cls, store: str, via_ingest: bool, error: str) -> NoiseResult:
        """A result that holds only the error."""
        return cls(store, "ingest" if via_ingest else "raw", error=error)


class NotificationObserver:
    """Counts the notifications an escalation stage would send, tick by tick."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._versions: dict[str, int] = {}
        self._triggers: dict[str, int] = {}
        self.sent: Counter[str] = Counter()
        self.suppressed: Counter[str] = Counter()

    async def observe(self) -> None:
        """Looks at every incident that changed since the last look."""
        for incident in await self._store.list_incidents(IncidentQuery(limit=_LIST_LIMIT)):
            if self._versions.get(incident.id) == incident.version:
                continue
            self._versions[incident.id] = incident.version
            events = await self._store.incident_events(incident.id)
            triggers = sum(1 for e in events if e.kind in TRIGGERS)
            new = triggers - self._triggers.get(incident.id, 0)
            self._triggers[incident.id] = triggers
            if new <= 0:
                continue
            if incident.muted or incident.held:
                self.suppressed[incident.id] += new
            else:
                self.sent[incident.id] += new


async def run_noise(
    store_name: str, store: Store, rules: Rules, workload: NoiseWorkload, via_ingest: bool
) -> NoiseResult:
    """Feeds the workload through a correlator on ``store`` (open and empty) and scores it."""
    result = NoiseResult(store_name, "ingest" if via_ingest else "raw")
    clock = ManualClock(workload.ticks[0].at)
    correlator = new_correlator(store, rules, clock, member="bench-noise")
    ingest = IngestService(
        store,
        DuplicateFilter(INGEST_REFRESH, INGEST_CAPACITY),
        IngestMetrics(CollectorRegistry()),
    )
    observer = NotificationObserver(store)
    await store.save_silence(workload.silence)
    started = time.perf_counter()
    for tick in workload.ticks:
        if time.perf_counter() - started > _DEADLINE_S:
            result.error = f"gave up at {tick.at:%H:%M:%S} after {_DEADLINE_S:g}s"
            return result
        clock.set(tick.at)
        if tick.alerts and via_ingest:
            stored = await ingest.store(SOURCE, list(tick.alerts), tick.at)
            result.alerts_logged += stored.stored
        elif tick.alerts:
            await store.append(tick.alerts)
            result.alerts_logged += len(tick.alerts)
        before = time.perf_counter()
        result.entries_correlated += await correlator.drain()
        await correlator.sweep()
        result.correlator_s += time.perf_counter() - before
        await observer.observe()
    result.wall_s = time.perf_counter() - started
    incidents = await store.list_incidents(IncidentQuery(limit=_LIST_LIMIT))
    timelines = {i.id: await store.incident_events(i.id) for i in incidents}
    _score(result, workload, incidents, timelines, observer)
    return result


def _score(
    result: NoiseResult,
    workload: NoiseWorkload,
    incidents: Sequence[Incident],
    timelines: Mapping[str, Sequence[IncidentEvent]],
    observer: NotificationObserver,
) -> None:
    result.alerts_sent = workload.alerts_sent
    result.incidents_opened = len(incidents)
    result.notifications = sum(observer.sent.values())
    result.notifications_suppressed = sum(observer.suppressed.values())
    result.notifications_expected = sum(p.expected_notifications for p in workload.problems)
    result.notifications_end_rule = sum(
        sum(1 for e in timelines[i.id] if e.kind in TRIGGERS) for i in incidents if not i.muted
    )
    claimed: set[str] = set()
    for problem in workload.problems:
        score = _problem_score(workload, problem, incidents, timelines, observer)
        claimed.update(i.id for i in incidents if problem.fingerprints & i.alerts.keys())
        result.problems.append(score)
        if score.kind == ProblemKind.STORM:
            result.storm_reduction = 1 - score.incidents / score.hosts
            result.storm_reduction_sent = 1 - score.incidents / score.alerts_sent
    result.spurious_incidents = sum(1 for i in incidents if i.id not in claimed)
    result.missed_problems = sum(1 for p in result.problems if p.incidents == 0)
    result.incidents_per_problem_max = max((p.incidents for p in result.problems), default=0)


def _problem_score(
    workload: NoiseWorkload,
    problem: Problem,
    incidents: Sequence[Incident],
    timelines: Mapping[str, Sequence[IncidentEvent]],
    observer: NotificationObserver,
) -> ProblemScore:
    fingerprints = problem.fingerprints
    mine = [i for i in incidents if fingerprints & i.alerts.keys()]
    covered = set().union(*(fingerprints & i.alerts.keys() for i in mine)) if mine else set()
    return ProblemScore(
        name=problem.name,
        kind=problem.kind.value,
        hosts=len(problem.series),
        alerts_sent=workload.sent_for(problem),
        incidents=len(mine),
        covered=len(covered) / len(fingerprints),
        notifications=sum(observer.sent[i.id] for i in mine),
        expected_notifications=problem.expected_notifications,
        reopens=sum(1 for i in mine for e in timelines[i.id] if e.kind == "reopened"),
        flapping=any(i.flapping for i in mine),
        final_states=sorted(i.state.value for i in mine),
        stale_resolved=sum(1 for i in mine if i.stale_resolved),
    )


def render_noise(workload: NoiseWorkload, results: Sequence[NoiseResult]) -> str:
    """The summary table, then the per-problem breakdown of the first good run."""
    kinds = Counter(p.kind.value for p in workload.problems)
    lines = [
        "",
        f"correlation / noise (seed {workload.seed}): {workload.alerts_sent:,} alerts sent over "
        f"{workload.duration.total_seconds() / 60:.0f} simulated minutes; truth: "
        f"{len(workload.problems)} real problems ("
        + ", ".join(f"{n} {k}" for k, n in kinds.items())
        + ")",
    ]
    header = (
        f"{'store':<7}{'log':<7}{'logged':>8}{'incidents':>10}{'per prob':>9}{'missed':>7}"
        f"{'spurious':>9}{'notif':>6}{'truth':>6}{'end rule':>9}{'storm red.':>11}"
        f"{'corr s':>7}{'entries/s':>10}"
    )
    lines += [header, "-" * len(header)]
    for r in results:
        if r.error:
            lines.append(f"{r.store:<7}{r.log:<7}FAILED: {r.error}")
            continue
        lines.append(
            f"{r.store:<7}{r.log:<7}{r.alerts_logged:>8,}{r.incidents_opened:>10}"
            f"{r.incidents_per_problem_max:>9}{r.missed_problems:>7}{r.spurious_incidents:>9}"
            f"{r.notifications:>6}{r.notifications_expected:>6}{r.notifications_end_rule:>9}"
            f"{r.storm_reduction:>11.1%}{r.correlator_s:>7.1f}"
            f"{r.entries_correlated / r.correlator_s if r.correlator_s else 0:>10,.0f}"
        )
    lines.append(
        "logged = entries appended (raw: every send; ingest: what its duplicate filter writes); "
        "per prob = most incidents for one problem (1 is right); notif = opened/reopened while "
        "unmuted, seen tick by tick; end rule = same, judged by each incident's final state; "
        "storm red. = 1 - incidents / distinct storm alerts; corr s = time in drain() and sweep()"
    )
    good = next((r for r in results if not r.error), None)
    if good is not None:
        lines += ["", f"per problem ({good.store}, {good.log}):", _problem_header()]
        lines += [_problem_line(p) for p in good.problems]
    return "\n".join(lines)


def _problem_header() -> str:
    return (
        f"  {'problem':<22}{'kind':<9}{'hosts':>6}{'sent':>7}{'incidents':>10}{'covered':>8}"
        f"{'notif':>6}{'truth':>6}{'reopens':>8}{'flapping':>9}  final state"
    )


def _problem_line(p: ProblemScore) -> str:
    states: dict[str, Any] = Counter(p.final_states)
    state = ", ".join(f"{n}x {s}" if n > 1 else s for s, n in states.items()) or "-"
    if p.stale_resolved:
        state += f" ({p.stale_resolved} stale)"
    return (
        f"  {p.name:<22}{p.kind:<9}{p.hosts:>6}{p.alerts_sent:>7}{p.incidents:>10}"
        f"{p.covered:>8.0%}{p.notifications:>6}{p.expected_notifications:>6}{p.reopens:>8}"
        f"{'yes' if p.flapping else 'no':>9}  {state}"
    )
