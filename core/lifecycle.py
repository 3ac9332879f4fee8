"""The incident lifecycle: the one place an incident's state changes.

Every transition is a row of :data:`TRANSITIONS`: the action, the states it is allowed
from, the API-key role it needs (None: only Tocsin itself does it) and the timeline
event it records. :func:`apply` checks a request against that row and the rules'
:class:`LifecyclePolicy`, then returns the changed incident with its timeline event
(who and when). A resolved incident is due for the correlator's sweep by its
auto-close time (``sweep_at``), a closed one never again::

    action              from                              to                      role
    acknowledge         triggered                         acknowledged            responder
    hold                triggered, acknowledged           on_hold (reason)        responder
    resume              on_hold                           where it was            responder
    resolve             triggered, acknowledged, on_hold  resolved (code, notes)  responder
    close               resolved                          closed (final)          responder
    reopen              resolved                          triggered (counted)     responder
    merge               triggered, acknowledged, on_hold  resolved (duplicate)    responder
    escalate            triggered, acknowledged           triggered (next level)  responder
    auto_resolve        triggered, acknowledged, on_hold  resolved (automatic)    Tocsin
    auto_reopen         resolved                          triggered (counted)     Tocsin
    auto_close          resolved, after auto_close_after  closed (final)          Tocsin
    source_acknowledge  triggered                         acknowledged (sender)   Tocsin
    retrigger           acknowledged                      triggered (ack timeout) Tocsin

``escalate`` and ``retrigger`` change only the state (an acknowledgement is undone);
the escalation stage (``escalation.decide``) reads their events: ``escalated`` pages
the policy's next level now, ``retriggered`` pages again from the first level.

Errors: a role that does not allow the action is Forbidden (403); a state that does
not allow it is InvalidTransition (409, listing the actions the state allows); an
auto-close before its time is a Conflict (409); a resolution code not in the rules'
list is InvalidFields naming ``resolution_code`` (400). Each transition records who
(``acknowledged_by``, ``resolved_by``, ``closed_by``, the event's actor) and when.
The request types and their strict reading from JSON are in ``core.lifecycle_requests``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.errors import Conflict, FieldProblem, Forbidden, InvalidFields, InvalidTransition
from core.incident import Incident, IncidentEvent, IncidentState
from core.lifecycle_requests import (
    PERSON_ACTIONS,
    Acknowledge,
    Action,
    AutoClose,
    AutoReopen,
    AutoResolve,
    Close,
    Escalate,
    Hold,
    Merge,
    Reopen,
    Request,
    Resolve,
    Resume,
    Retrigger,
    SourceAcknowledge,
)
from core.roles import Role

# ServiceNow's resolution codes (the classic list), as names the API can carry.
DEFAULT_RESOLUTION_CODES: tuple[str, ...] = (
    "solved_permanently",
    "solved_workaround",
    "not_reproducible",
    "too_costly",
    "resolved_by_caller",
    "duplicate",
)
# The resolution code of an incident merged into another (whatever the rules' list).
DUPLICATE = "duplicate"
# ServiceNow's default: a resolved incident closes itself after 7 days.
DEFAULT_AUTO_CLOSE_AFTER = timedelta(days=7)

_TRIGGERED = IncidentState.TRIGGERED
_ACKNOWLEDGED = IncidentState.ACKNOWLEDGED
_ON_HOLD = IncidentState.ON_HOLD
_RESOLVED = IncidentState.RESOLVED
_CLOSED = IncidentState.CLOSED
_OPEN = frozenset({_TRIGGERED, _ACKNOWLEDGED, _ON_HOLD})


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """What the rules' ``lifecycle`` section decides: resolution codes, auto-close delay.

    ``auto_close_after`` of zero turns auto-close off (as ServiceNow's 0).
    """

    resolution_codes: tuple[str, ...] = DEFAULT_RESOLUTION_CODES
    auto_close_after: timedelta = DEFAULT_AUTO_CLOSE_AFTER


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an API key's name and role, or Tocsin itself (``role`` None)."""

    name: str
    role: Role | None

    @property
    def automatic(self) -> bool:
        """Tells whether this is Tocsin itself rather than a person."""
        return self.role is None


def tocsin(name: str = "tocsin") -> Actor:
    """Tocsin itself as the actor of an automatic transition (the timeline names it)."""
    return Actor(name, None)


@dataclass(frozen=True, slots=True)
class Transition:
    """One action of the lifecycle: where it is allowed from, who may do it, what it records."""

    action: Action
    sources: frozenset[IncidentState]
    role: Role | None  # None: only Tocsin itself (an automatic action)
    event: str  # the timeline event's kind


TRANSITIONS: Mapping[Action, Transition] = {
    t.action: t
    for t in (
        Transition(Action.ACKNOWLEDGE, frozenset({_TRIGGERED}), Role.RESPONDER, "acknowledged"),
        Transition(Action.HOLD, frozenset({_TRIGGERED, _ACKNOWLEDGED}), Role.RESPONDER, "on_hold"),
        Transition(Action.RESUME, frozenset({_ON_HOLD}), Role.RESPONDER, "resumed"),
        Transition(Action.RESOLVE, _OPEN, Role.RESPONDER, "resolved"),
        Transition(Action.CLOSE, frozenset({_RESOLVED}), Role.RESPONDER, "closed"),
        Transition(Action.REOPEN, frozenset({_RESOLVED}), Role.RESPONDER, "reopened"),
        Transition(Action.MERGE, _OPEN, Role.RESPONDER, "merged_into"),
        Transition(
            Action.ESCALATE, frozenset({_TRIGGERED, _ACKNOWLEDGED}), Role.RESPONDER, "escalated"
        ),
        Transition(Action.AUTO_RESOLVE, _OPEN, None, "resolved"),
        Transition(Action.AUTO_REOPEN, frozenset({_RESOLVED}), None, "reopened"),
        Transition(Action.AUTO_CLOSE, frozenset({_RESOLVED}), None, "closed"),
        # A sender's own acknowledgement (PagerDuty): automatic, attributed to the sender.
        Transition(Action.SOURCE_ACKNOWLEDGE, frozenset({_TRIGGERED}), None, "acknowledged"),
        # The rules' acknowledgement timeout ran out (escalation policy ``ack_timeout``).
        Transition(Action.RETRIGGER, frozenset({_ACKNOWLEDGED}), None, "retriggered"),
    )
}


@dataclass(frozen=True, slots=True)
class Transitioned:
    """An incident after a transition, and the timeline event that records it."""

    incident: Incident
    event: IncidentEvent


def allowed_actions(state: IncidentState) -> tuple[str, ...]:
    """The actions a person may take on an incident in ``state``, in lifecycle order."""
    return tuple(a.value for a in PERSON_ACTIONS if state in TRANSITIONS[a].sources)


def auto_close_due(incident: Incident, policy: LifecyclePolicy) -> datetime | None:
    """When a resolved incident closes itself; None if it never does (or is not resolved)."""
    if incident.state is not _RESOLVED or incident.resolved_at is None:
        return None
    if policy.auto_close_after <= timedelta(0):
        return None
    return incident.resolved_at + policy.auto_close_after


def apply(
    incident: Incident,
    request: Request,
    actor: Actor,
    now: datetime,
    policy: LifecyclePolicy,
) -> Transitioned:
    """Returns the incident after ``request`` by ``actor`` at ``now``, with its timeline event.

    The transition is timed at ``now``, or at the incident's latest lifecycle time if
    ``now`` is earlier (a correlator judging at log time): its times stay in order.
    Raises Forbidden, InvalidTransition or InvalidFields (see the module docstring).
    """
    spec = TRANSITIONS[request.action]
    _check_role(spec, actor)
    if incident.state not in spec.sources:
        raise InvalidTransition(
            request.action.value, incident.state.value, allowed_actions(incident.state)
        )
    at = max(now, _latest(incident))
    changes, detail = _changes(incident, request, at, policy, actor.name)
    changed = _due_to_close(replace(incident, **changes, state_changed_at=at), policy)
    detail = {"from": incident.state.value, "to": changed.state.value, **detail}
    if actor.automatic:
        detail["automatic"] = True
    event = IncidentEvent(incident.id, at, actor.name, spec.event, detail)
    return Transitioned(changed, event)


def _check_role(spec: Transition, actor: Actor) -> None:
    if spec.role is None:
        if not actor.automatic:
            raise Forbidden(f"only Tocsin itself may {spec.action.value} an incident")
        return
    if actor.role is None or not actor.role.allows(spec.role):
        have = "Tocsin itself" if actor.role is None else f"a {actor.role.value} key"
        raise Forbidden(f"{spec.action.value} needs a {spec.role.value} key or higher, not {have}")


def _latest(incident: Incident) -> datetime:
    """The incident's latest lifecycle time: its last transition, or when it opened.

    The other times count too, for incidents written before ``state_changed_at`` was.
    """
    times = (
        incident.state_changed_at,
        incident.acknowledged_at,
        incident.on_hold_since,
        incident.resolved_at,
    )
    return max((t for t in times if t is not None), default=incident.opened_at)


def _end_hold(incident: Incident, at: datetime) -> dict[str, Any]:
    """The changes that end a hold in progress (its time adds to the paused total)."""
    if incident.on_hold_since is None:
        return {}
    return {
        "hold_reason": None,
        "on_hold_since": None,
        "on_hold_total": incident.on_hold_total + (at - incident.on_hold_since),
    }


# Triggered again (escalate, retrigger): whoever acknowledged no longer owns it.
_UNACKNOWLEDGED: Mapping[str, Any] = {
    "state": _TRIGGERED,
    "acknowledged_at": None,
    "acknowledged_by": None,
}

_REOPENED: Mapping[str, Any] = {
    "state": _TRIGGERED,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "resolved_at": None,
    "resolved_by": None,
    "resolution_code": None,
    "resolution_notes": None,
    "auto_resolved": False,
    "stale_resolved": False,
}


def _changes(
    incident: Incident, request: Request, at: datetime, policy: LifecyclePolicy, by: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The incident's changed fields, and the timeline event's detail, for ``request``."""
    match request:
        case Acknowledge(note=note):
            changes = {"state": _ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_by": by}
            return changes, _given(note=note)
        case Hold(reason=reason):
            changes = {"state": _ON_HOLD, "hold_reason": reason, "on_hold_since": at}
            return changes, {"reason": reason}
        case Resume(note=note):
            back = _TRIGGERED if incident.acknowledged_at is None else _ACKNOWLEDGED
            return {"state": back, **_end_hold(incident, at)}, _given(note=note)
        case Resolve(resolution_code=code, notes=notes):
            if code not in policy.resolution_codes:
                codes = ", ".join(policy.resolution_codes)
                raise InvalidFields(
                    [FieldProblem("resolution_code", f"{code!r} is not one of {codes}")]
                )
            changes = _resolved(incident, at, by, code=code, notes=notes)
            return changes, {"resolution_code": code, "notes": notes}
        case AutoResolve(reason=reason, stale=stale):
            changes = _resolved(incident, at, by, automatic=True, stale=stale)
            return changes, {"reason": reason}
        case Close(note=note):
            return {"state": _CLOSED, "closed_at": at, "closed_by": by}, _given(note=note)
        case AutoClose():
            due = auto_close_due(incident, policy)
            if due is None or at < due:
                when = "never (auto_close_after is 0)" if due is None else due.isoformat()
                raise Conflict(f"the incident is not due to close itself: due {when}")
            changes = {"state": _CLOSED, "closed_at": at, "closed_by": by}
            return changes, {"reason": f"resolved for {policy.auto_close_after}"}
        case Reopen(reason=reason):
            return _reopened(incident), {"reason": reason}
        case Merge(into=into):
            # The other incident's side (its alerts, its timeline) is core.incident_actions'.
            notes = f"merged into incident {into}"
            changes = _resolved(incident, at, by, code=DUPLICATE, notes=notes)
            return {**changes, "merged_into": into}, {"into": into, "resolution_code": DUPLICATE}
        case AutoReopen(reason=reason, fingerprint=fingerprint):
            return _reopened(incident), {"reason": reason, "fingerprint": fingerprint}
        case Escalate(note=note):
            return dict(_UNACKNOWLEDGED), _given(note=note)
        case Retrigger(reason=reason):
            return dict(_UNACKNOWLEDGED), {"reason": reason}
        case SourceAcknowledge(source=source, fingerprint=fingerprint, dedup_key=key):
            changes = {"state": _ACKNOWLEDGED, "acknowledged_at": at, "acknowledged_by": by}
            detail = {"source": source, "fingerprint": fingerprint}
            return changes, {**detail, **_given(dedup_key=key)}
    raise AssertionError(f"no lifecycle rule for {request!r}")  # pragma: no cover


def _due_to_close(incident: Incident, policy: LifecyclePolicy) -> Incident:
    """The incident with the sweep due by its auto-close if resolved, never if closed.

    The correlator's sweep finds what is due through ``sweep_at``; an earlier time it
    already holds stays (the sweep then works the next one out exactly).
    """
    if incident.state is _CLOSED:
        return replace(incident, sweep_at=None)
    due = auto_close_due(incident, policy)
    if due is None or (incident.sweep_at is not None and incident.sweep_at <= due):
        return incident
    return replace(incident, sweep_at=due)


def _resolved(
    incident: Incident,
    at: datetime,
    by: str,
    *,
    code: str | None = None,
    notes: str | None = None,
    automatic: bool = False,
    stale: bool = False,
) -> dict[str, Any]:
    return {
        "state": _RESOLVED,
        "resolved_at": at,
        "resolved_by": by,
        "resolution_code": code,
        "resolution_notes": notes,
        "auto_resolved": automatic,
        "stale_resolved": stale,
        **_end_hold(incident, at),
    }


def _reopened(incident: Incident) -> dict[str, Any]:
    return {**_REOPENED, "reopen_count": incident.reopen_count + 1}


def _given(**values: str | None) -> dict[str, Any]:
    """The detail entries that were given (an optional note left out when absent)."""
    return {k: v for k, v in values.items() if v is not None}
