"""The closure report of one incident: what happened, how fast, and what follows from it.

The report is rendered from stored data on request, for a closed incident only (a 409
before: it is written when the incident closes). Everything in it comes from the store
(the incident, its timeline, a page of its alerts, its linked problem) and from the
rules in force (the names of impact and urgency levels, the SLA targets of its
priority), so the same store and rules give the same report, byte for byte.

Bounded whatever the incident's size: at most ``ALERTS_SHOWN`` alerts are listed (the
rest are counted from the store's counts, never read), and the timeline is read a page
at a time, keeping at most ``EVENTS_SHOWN`` entries and counting the others by kind, so
a storm incident of 500,000 alerts costs a few pages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.errors import Conflict, NotFound
from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState, Task
from core.problems import Problem
from core.store import IncidentStore
from escalation.timeline import describe
from rules.priority import PriorityRules
from tocsin.reports.sla import SlaResult, sla_results

# The most alerts a report lists, and timeline entries it shows (the others are counted).
ALERTS_SHOWN = 50
EVENTS_SHOWN = 500
# Timeline entries read per store call, and at most in all (a storm's timeline is long).
EVENTS_PAGE = 1000
EVENTS_READ = 100_000


class ProblemReader(Protocol):
    """Reads one problem by id (the store's ProblemStore)."""

    async def get_problem(self, problem_id: str) -> Problem | None:
        """Returns the problem, or None."""
        ...


class NotClosed(Conflict):
    """The incident has no closure report yet: it is not closed (409)."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(
            f"incident {incident.id} is {incident.state.value}: its closure report is "
            "written when it closes",
            field="state",
        )


@dataclass(frozen=True, slots=True)
class TimelineDigest:
    """The timeline as a report shows it: the entries kept, and the others counted by kind."""

    shown: tuple[IncidentEvent, ...]
    total: int
    others: tuple[tuple[str, int], ...]  # (kind, count) of the entries left out, by kind
    held_before_ack: timedelta


@dataclass(frozen=True, slots=True)
class ClosureReport:
    """Everything a closure report says about one closed incident."""

    incident: Incident
    impact: str | None
    urgency: str | None
    alerts: tuple[IncidentAlert, ...]
    alerts_total: int
    alerts_firing: int
    timeline: TimelineDigest
    time_to_acknowledge: timedelta | None
    time_to_resolve: timedelta | None
    sla: tuple[SlaResult, ...]
    tasks: tuple[Task, ...]
    problem: Problem | None

    @property
    def alerts_more(self) -> int:
        """How many alerts the report does not list."""
        return self.alerts_total - len(self.alerts)

    @property
    def follow_ups(self) -> tuple[Task, ...]:
        """The tasks still open when the incident closed: the follow-up actions."""
        return tuple(t for t in self.tasks if t.completed_at is None)


# Timeline entries that people and the lifecycle write: always shown. Entries of the
# alerts (joined, resolved, muted...) are shown while room is left, then counted.
LIFECYCLE_KINDS = frozenset(
    {
        "opened", "categorised", "acknowledged", "on_hold", "resumed", "resolved",
        "closed", "reopened", "assigned", "note", "priority_changed", "merged_into",
        "merged_from", "task_added", "task_completed", "problem_linked", "problem_unlinked",
    }
)  # fmt: skip


async def closure_report(
    store: IncidentStore,
    problems: ProblemReader | None,
    priority: PriorityRules,
    incident_id: str,
) -> ClosureReport:
    """Gathers the report of a closed incident; NotFound if unknown, NotClosed if not closed."""
    summary = await store.incident_summary(incident_id)
    if summary is None:
        raise NotFound(f"no incident {incident_id!r}", field="id")
    incident = summary.incident
    if incident.state is not IncidentState.CLOSED:
        raise NotClosed(incident)
    page = await store.incident_alert_page(incident_id, "", ALERTS_SHOWN)
    timeline = await read_timeline(store, incident_id)
    problem = None
    if incident.problem_id is not None and problems is not None:
        problem = await problems.get_problem(incident.problem_id)
    # The clocks are judged at closing: a closed incident's report never changes.
    now = incident.closed_at or incident.resolved_at or incident.opened_at
    matrix = priority.matrix
    return ClosureReport(
        incident=incident,
        impact=_level(incident.impact, matrix.impacts),
        urgency=_level(incident.urgency, matrix.urgencies),
        alerts=tuple(page.alerts),
        alerts_total=summary.alerts,
        alerts_firing=summary.firing,
        timeline=timeline,
        time_to_acknowledge=_since(incident, incident.acknowledged_at),
        time_to_resolve=_since(incident, incident.resolved_at),
        sla=tuple(sla_results(incident, priority, now, held_before_ack=timeline.held_before_ack)),
        tasks=tuple(incident.tasks),
        problem=problem,
    )


def _since(incident: Incident, instant: datetime | None) -> timedelta | None:
    return None if instant is None else instant - incident.opened_at


def _level(level: int | None, names: tuple[str, ...]) -> str | None:
    if level is None:
        return None
    return names[level - 1] if 1 <= level <= len(names) else str(level)


async def read_timeline(store: IncidentStore, incident_id: str) -> TimelineDigest:
    """Reads the timeline a page at a time into a digest (see the module docstring)."""
    shown: list[IncidentEvent] = []
    others: Counter[str] = Counter()
    holds = _Holds()
    start, total = 0, 0
    while start < EVENTS_READ:
        events, total = await store.incident_events_page(incident_id, start, EVENTS_PAGE)
        for event in events:
            holds.see(event)
            if len(shown) < EVENTS_SHOWN and (
                event.kind in LIFECYCLE_KINDS or len(shown) < EVENTS_SHOWN // 2
            ):
                shown.append(event)
            else:
                others[event.kind] += 1
        start += len(events)
        if not events or start >= total:
            break
    if total > start:  # past EVENTS_READ: counted, not read
        others["(not read)"] += total - start
    return TimelineDigest(
        tuple(shown), total, tuple(sorted(others.items())), holds.before_ack
    )


class _Holds:
    """Adds up the time held before the (latest) acknowledgement, from the timeline."""

    def __init__(self) -> None:
        self._since: datetime | None = None
        self._held = timedelta(0)
        self.before_ack = timedelta(0)

    def see(self, event: IncidentEvent) -> None:
        """Follows one timeline entry, oldest first."""
        if event.kind == "on_hold":
            self._since = event.at
        elif event.kind in {"resumed", "resolved"} and self._since is not None:
            self._held += event.at - self._since
            self._since = None
        elif event.kind == "acknowledged":
            # The latest acknowledgement is the one stored (a reopen clears it); its
            # clock runs from the opening, so every hold before it counts.
            self.before_ack = self._held


def event_summary(event: IncidentEvent) -> str:
    """What a timeline entry says in a few words: its note, reason, code or change."""
    detail = event.detail
    described = describe(event.kind, detail)  # escalation's notes: paged, delivery_failed...
    if described is not None:
        return described
    parts: list[str] = []
    if "from" in detail and "to" in detail:
        parts.append(f"{detail['from']} → {detail['to']}")
    for key in ("resolution_code", "text", "note", "reason", "notes", "title", "team", "person"):
        value = detail.get(key)
        if isinstance(value, str) and value:
            parts.append(value if key in {"text", "note", "notes"} else f"{key}: {value}")
    alerts = detail.get("alerts")
    if isinstance(alerts, Sequence) and not isinstance(alerts, str):
        parts.append(f"{len(alerts) + int(detail.get('more_alerts', 0) or 0)} alert(s)")
    return "; ".join(parts)
