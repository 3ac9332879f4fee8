"""The figures of ``tocsin report``: pure computation over incidents read elsewhere.

Definitions (the README repeats them):

- time to acknowledge: from an incident's opening to its acknowledgement (the stored
  one: the latest cycle's, for an incident reopened); MTTA is its mean over the
  incidents of the period that were acknowledged;
- time to resolve: from opening to resolution, automatic or by a person; MTTR is its
  mean over the incidents of the period that were resolved;
- p50 and p90 are nearest-rank percentiles (the smallest value that at least 50 % or
  90 % of the values do not exceed);
- SLA compliance of a priority and target: met / (met + breached), the incidents still
  within their target (pending) counted apart (see tocsin.reports.sla);
- backlog: the incidents open now, whenever they opened, by age;
- noise: alerts per incident, and how many incidents were muted, flapping, or resolved
  because their alerts went stale (expired) rather than by a resolve.

"The period" is the incidents opened at or after ``since``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.incident import Incident, IncidentState
from core.problem_candidates import Candidate, Recurrence, find_candidates
from core.store import IncidentSummary
from rules.priority import PriorityRules, SlaTarget
from tocsin.reports.sla import Outcome, sla_target, target_results

# Backlog age buckets: (label, upper bound); the last has none.
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under 1h", timedelta(hours=1)),
    ("1h to 1d", timedelta(days=1)),
    ("1d to 7d", timedelta(days=7)),
    ("7d to 30d", timedelta(days=30)),
    ("30d and more", None),
)
NONE = "(none)"


@dataclass(frozen=True, slots=True)
class Spread:
    """How a set of durations spreads: how many, mean, p50 and p90 (None when empty)."""

    count: int
    mean: timedelta | None
    p50: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True, slots=True)
class SlaCompliance:
    """One priority's target over the period: how many met, breached, still pending."""

    priority: str
    target: str
    met: int
    breached: int
    pending: int

    @property
    def compliance(self) -> float | None:
        """met / (met + breached), as a fraction; None if none was decided."""
        decided = self.met + self.breached
        return None if decided == 0 else self.met / decided


@dataclass(frozen=True, slots=True)
class Noise:
    """How noisy the period's incidents were."""

    alerts: int
    alerts_per_incident_mean: float | None
    alerts_per_incident_p50: int | None
    alerts_per_incident_p90: int | None
    alerts_per_incident_max: int | None
    muted: int
    flapping: int
    stale_resolved: int
    auto_resolved: int


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything ``tocsin report`` says about a period."""

    since: datetime
    now: datetime
    incidents: int
    by_state: tuple[tuple[str, int], ...]
    time_to_acknowledge: Spread
    time_to_resolve: Spread
    # Per priority (sorted): (priority, time to acknowledge, time to resolve).
    times_by_priority: tuple[tuple[str, Spread, Spread], ...]
    sla: tuple[SlaCompliance, ...]
    by_category: tuple[tuple[str, int], ...]
    by_service: tuple[tuple[str, int], ...]
    by_team: tuple[tuple[str, int], ...]
    by_priority: tuple[tuple[str, int], ...]
    backlog: tuple[tuple[str, int], ...]
    backlog_total: int
    noise: Noise
    candidates: tuple[Candidate, ...]
    recurrence: Recurrence


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of values sorted ascending (not empty)."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def spread(durations: Iterable[timedelta]) -> Spread:
    """The count, mean, p50 and p90 of the durations."""
    seconds = sorted(d.total_seconds() for d in durations)
    if not seconds:
        return Spread(0, None, None, None)
    return Spread(
        len(seconds),
        timedelta(seconds=sum(seconds) / len(seconds)),
        timedelta(seconds=nearest_rank(seconds, 50)),
        timedelta(seconds=nearest_rank(seconds, 90)),
    )


def _counted(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    # Most first, then by name, so that equal counts keep one order.
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _age_bucket(age: timedelta) -> str:
    for label, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return label
    raise AssertionError("the last bucket has no bound")  # pragma: no cover


def compute(
    period: Iterable[IncidentSummary],
    open_now: Iterable[IncidentSummary],
    priority: PriorityRules,
    recurrence: Recurrence,
    since: datetime,
    now: datetime,
) -> Figures:
    """The figures of the period's incidents (``period``) and of those open now (backlog)."""
    tally = Tally(priority, now)
    for summary in period:
        tally.add(summary)
    for summary in open_now:
        tally.add_open(summary)
    return tally.figures(recurrence, since)


class Tally:
    """Adds up incidents one at a time (a page read is dropped once added), then the figures."""

    def __init__(self, priority: PriorityRules, now: datetime) -> None:
        self._priority = priority
        self._now = now
        self._acks: dict[str, list[timedelta]] = {}
        self._resolves: dict[str, list[timedelta]] = {}
        self._sla: defaultdict[tuple[str, str], Counter[Outcome]] = defaultdict(Counter)
        self._counts: dict[str, Counter[str]] = {
            name: Counter() for name in ("state", "category", "service", "team", "priority")
        }
        self._alert_counts: list[int] = []
        self._flags: Counter[str] = Counter()
        self._targets: dict[str, SlaTarget | None] = {}
        # What problem candidates need of each incident, and how often each key recurs.
        self._recurring: list[_Recurring] = []
        self._keys: Counter[object] = Counter()
        self._backlog: Counter[str] = Counter()

    def add(self, summary: IncidentSummary) -> None:
        """Counts an incident of the period."""
        incident = summary.incident
        name = incident.priority or NONE
        counts = self._counts
        counts["state"][incident.state.value] += 1
        counts["category"][incident.category or NONE] += 1
        counts["service"][incident.service or NONE] += 1
        counts["team"][incident.team or NONE] += 1
        counts["priority"][name] += 1
        self._alert_counts.append(summary.alerts)
        flags = self._flags
        flags["muted"] += incident.muted
        flags["flapping"] += incident.flapping
        flags["stale_resolved"] += incident.stale_resolved
        flags["auto_resolved"] += incident.auto_resolved
        if incident.acknowledged_at is not None:
            self._acks.setdefault(name, []).append(incident.acknowledged_at - incident.opened_at)
        if incident.resolved_at is not None:
            self._resolves.setdefault(name, []).append(incident.resolved_at - incident.opened_at)
        if name not in self._targets:
            self._targets[name] = sla_target(self._priority, incident.priority)
        for result in target_results(incident, self._targets[name], self._now):
            self._sla[(name, result.target)][result.outcome] += 1
        self._recurring.append(
            _Recurring(
                incident.id, incident.group_key, incident.opened_at, incident.category,
                incident.service, incident.problem_id, incident.merged_into,
            )
        )  # fmt: skip
        self._keys[incident.group_key] += 1
        self._keys[(incident.category, incident.service)] += 1

    def add_open(self, summary: IncidentSummary) -> None:
        """Counts an incident open now in the backlog, by its age."""
        if summary.incident.state in (IncidentState.RESOLVED, IncidentState.CLOSED):
            return
        self._backlog[_age_bucket(self._now - summary.incident.opened_at)] += 1

    def figures(self, recurrence: Recurrence, since: datetime) -> Figures:
        """The figures of everything added."""
        acks, resolves, counts = self._acks, self._resolves, self._counts
        names = sorted(set(acks) | set(resolves))
        return Figures(
            since=since,
            now=self._now,
            incidents=len(self._alert_counts),
            by_state=_counted(counts["state"]),
            time_to_acknowledge=spread(d for ds in acks.values() for d in ds),
            time_to_resolve=spread(d for ds in resolves.values() for d in ds),
            times_by_priority=tuple(
                (n, spread(acks.get(n, ())), spread(resolves.get(n, ()))) for n in names
            ),
            sla=tuple(
                SlaCompliance(n, target, c[Outcome.MET], c[Outcome.BREACHED], c[Outcome.PENDING])
                for (n, target), c in sorted(self._sla.items())
            ),
            by_category=_counted(counts["category"]),
            by_service=_counted(counts["service"]),
            by_team=_counted(counts["team"]),
            by_priority=tuple(sorted(counts["priority"].items())),
            backlog=tuple((label, self._backlog[label]) for label, _ in AGE_BUCKETS),
            backlog_total=sum(self._backlog.values()),
            noise=_noise(self._alert_counts, self._flags),
            candidates=self._candidates(recurrence),
            recurrence=recurrence,
        )


    def _candidates(self, recurrence: Recurrence) -> tuple[Candidate, ...]:
        # Only incidents whose key recurs often enough can be part of a candidate:
        # find_candidates sees those (as incidents), not the whole period.
        keys = self._keys
        alike = [
            r.incident()
            for r in self._recurring
            if keys[r.group_key] >= recurrence.count
            or keys[(r.category, r.service)] >= recurrence.count
        ]
        return tuple(find_candidates(alike, recurrence))


@dataclass(frozen=True, slots=True)
class _Recurring:
    """What find_candidates reads of an incident, kept for every incident of the period."""

    id: str
    group_key: str
    opened_at: datetime
    category: str | None
    service: str | None
    problem_id: str | None
    merged_into: str | None

    def incident(self) -> Incident:
        """An incident with these fields, for find_candidates."""
        return Incident(
            id=self.id,
            group_key=self.group_key,
            title="",
            state=IncidentState.TRIGGERED,
            opened_at=self.opened_at,
            alerts={},
            category=self.category,
            service=self.service,
            problem_id=self.problem_id,
            merged_into=self.merged_into,
        )


def _noise(alert_counts: list[int], flags: Counter[str]) -> Noise:
    ordered = sorted(alert_counts)
    if not ordered:
        mean, p50, p90, most = None, None, None, None
    else:
        mean = sum(ordered) / len(ordered)
        p50, p90 = int(nearest_rank(ordered, 50)), int(nearest_rank(ordered, 90))
        most = ordered[-1]
    return Noise(
        alerts=sum(ordered),
        alerts_per_incident_mean=mean,
        alerts_per_incident_p50=p50,
        alerts_per_incident_p90=p90,
        alerts_per_incident_max=most,
        muted=flags["muted"],
        flapping=flags["flapping"],
        stale_resolved=flags["stale_resolved"],
        auto_resolved=flags["auto_resolved"],
    )
