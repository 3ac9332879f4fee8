"""Incidents: what people act on, built by correlation from one or more alerts.

The lifecycle follows ITIL with PagerDuty's names for the pager::

    triggered -> acknowledged -> resolved -> closed (final)

- ``on_hold`` (with a reason; SLA clocks pause) from triggered or acknowledged, and
  back to where it was on resume; resolving from on_hold is allowed;
- reopen: resolved -> triggered, counted in ``reopen_count``.

:mod:`core.lifecycle` owns the transitions: it is the one place a state changes.
Incidents stored in the former ``reopened`` state read back as triggered
(``core.codec``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter, countOf
from typing import Any

from core.direct_init import direct_init
from core.model import AlertStatus


class IncidentState(enum.StrEnum):
    """Where an incident is in its lifecycle."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATES = frozenset(
    {
        IncidentState.TRIGGERED,
        IncidentState.ACKNOWLEDGED,
        IncidentState.ON_HOLD,
    }
)


@dataclass(frozen=True, slots=True)
class IncidentAlert:
    """One alert as part of an incident: its last status and how often it was seen.

    Three kinds of time, kept apart so that nobody reads one for another: ``starts_at``
    is when the source says the condition began (its last ``startsAt``);
    ``first_received_at`` and ``last_received_at`` are when Tocsin received the first
    and the latest report of it; ``first_seen`` and ``last_seen`` are when the correlator
    applied them (later than receipt while it is behind).
    """

    fingerprint: str
    labels: Mapping[str, str]
    status: AlertStatus
    first_seen: datetime
    last_seen: datetime
    count: int
    # Log position of the last entry applied, so a late, older entry is never applied over it.
    position: str
    ends_at: datetime | None = None
    # Times the alert changed between firing and resolved within the flap window.
    transitions: tuple[datetime, ...] = ()
    muted_by: str | None = None
    # The latest report's annotations, by reference (the log entry's own mapping, never copied).
    annotations: Mapping[str, str] = field(default_factory=dict)
    generator_url: str = ""
    # None only for alerts stored before these were kept (the source's start was not kept).
    starts_at: datetime | None = None
    first_received_at: datetime | None = None
    last_received_at: datetime | None = None
    # Resolved by Tocsin because it was not refreshed before its end (or resolve_timeout),
    # not by its sender; an incident whose last alert expired is stale-resolved.
    expired: bool = False
    # The sender's own key for the alert (a PagerDuty or webhook ``dedup_key``), if any.
    dedup_key: str | None = None


# IncidentAlert(...) with all its fields in order, built directly (see core.direct_init):
# the correlator builds one for every entry it applies to an incident.
new_incident_alert: Callable[
    [
        str,
        Mapping[str, str],
        AlertStatus,
        datetime,
        datetime,
        int,
        str,
        datetime | None,
        tuple[datetime, ...],
        str | None,
        Mapping[str, str],
        str,
        datetime | None,
        datetime | None,
        datetime | None,
        bool,
        str | None,
    ],
    IncidentAlert,
] = direct_init(IncidentAlert)


_status = attrgetter("status")


@dataclass(frozen=True, slots=True)
class Task:
    """One piece of work on an incident: from the category's rules, or added by a person.

    ``id`` is its number within the incident ("1", "2", ...). Rules tasks are created by
    Tocsin (``created_by`` "tocsin") when the incident is categorised.
    """

    id: str
    title: str
    source: str  # "rules" | "person"
    created_by: str
    created_at: datetime
    completed_by: str | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident and everything correlation and people have decided about it."""

    id: str
    group_key: str
    title: str
    state: IncidentState
    opened_at: datetime
    alerts: Mapping[str, IncidentAlert]
    version: int = 0
    category: str | None = None
    service: str | None = None
    impact: int | None = None
    urgency: int | None = None
    priority: str | None = None
    team: str | None = None
    route: str | None = None
    policy: str | None = None
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    flapping: bool = False
    stale_resolved: bool = False
    held: bool = False
    muted: bool = False
    public: bool = False
    components: tuple[str, ...] = ()
    # When the correlator's sweep must next look at the incident (an alert's endsAt, a
    # resolve delay or flap hold-down ending, a hold to release); None: nothing time-based
    # is pending. The correlator sets it, earlier than needed if it must (the sweep then
    # just computes it again), never later; core.lifecycle sets a resolved incident's to
    # its auto-close time at the latest, a closed one's to None. The stores index it:
    # IncidentQuery.sweep_due_by.
    sweep_at: datetime | None = None
    # What the lifecycle records (core.lifecycle sets these; nothing else does).
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    closed_by: str | None = None
    resolution_code: str | None = None
    resolution_notes: str | None = None
    # Resolved by Tocsin (all its alerts resolved), not by a person.
    auto_resolved: bool = False
    hold_reason: str | None = None
    # When the current hold began, and the holds before it in total: SLA clocks pause.
    on_hold_since: datetime | None = None
    on_hold_total: timedelta = timedelta(0)
    reopen_count: int = 0
    # When a transition last changed the state; None: not since it opened.
    state_changed_at: datetime | None = None
    # Work to do (core.incident_actions), in the order it was added.
    tasks: tuple[Task, ...] = ()
    # The problem it is linked to, and the incident it was merged into (None: none).
    problem_id: str | None = None
    merged_into: str | None = None

    @property
    def is_open(self) -> bool:
        """Tells whether the incident still needs someone (not resolved or closed)."""
        return self.state in OPEN_STATES

    def firing_count(self) -> int:
        """Returns how many of its alerts are firing."""
        # Counted in C: the stores count every incident a commit writes, and a storm
        # incident has thousands of alerts (a generator cost a tenth of a storm step).
        return countOf(map(_status, self.alerts.values()), AlertStatus.FIRING)


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One timeline entry: who did what to an incident, when, and why."""

    incident_id: str
    at: datetime
    actor: str
    kind: str
    detail: Mapping[str, Any] = field(default_factory=dict)
