"""The incident lifecycle (core.lifecycle): every (state, action) pair, what each sets, who may."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import Conflict, Forbidden, InvalidFields, InvalidTransition
from core.incident import Incident, IncidentState
from core.lifecycle import (
    TRANSITIONS,
    Actor,
    LifecyclePolicy,
    Transitioned,
    allowed_actions,
    apply,
    auto_close_due,
    tocsin,
)
from core.lifecycle_requests import (
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

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
POLICY = LifecyclePolicy()
ANA = Actor("ana", Role.RESPONDER)
TRIGGERED, ACKNOWLEDGED, ON_HOLD, RESOLVED, CLOSED = (
    IncidentState.TRIGGERED,
    IncidentState.ACKNOWLEDGED,
    IncidentState.ON_HOLD,
    IncidentState.RESOLVED,
    IncidentState.CLOSED,
)

# One valid request per action.
REQUESTS: dict[Action, Request] = {
    Action.ACKNOWLEDGE: Acknowledge(),
    Action.HOLD: Hold("waiting on the storage vendor"),
    Action.RESUME: Resume(),
    Action.RESOLVE: Resolve("solved_permanently", "replaced the failed disk"),
    Action.CLOSE: Close(),
    Action.REOPEN: Reopen("latency is back"),
    Action.MERGE: Merge("inc-2"),
    Action.ESCALATE: Escalate("bob is out"),
    Action.AUTO_RESOLVE: AutoResolve("all its alerts resolved"),
    Action.AUTO_REOPEN: AutoReopen("an alert fired again within the reopen window", "f1"),
    Action.AUTO_CLOSE: AutoClose(),
    Action.SOURCE_ACKNOWLEDGE: SourceAcknowledge("pd", "f1", "db-down"),
    Action.RETRIGGER: Retrigger("not resolved 30m after the acknowledgement"),
}


def opened() -> Incident:
    return Incident("inc-1", "g", "Disk full", TRIGGERED, T0, {}, version=3)


def in_state(state: IncidentState) -> Incident:
    """A consistent incident in ``state``: acknowledged 1m, held 2m, resolved 3m, closed 4m in."""
    incident = opened()
    if state is ACKNOWLEDGED or state is ON_HOLD:
        incident = replace(incident, state=ACKNOWLEDGED, acknowledged_at=T0 + timedelta(minutes=1))
    if state is ON_HOLD:
        incident = replace(
            incident, state=ON_HOLD, hold_reason="vendor", on_hold_since=T0 + timedelta(minutes=2)
        )
    if state is RESOLVED or state is CLOSED:
        incident = replace(
            incident,
            state=RESOLVED,
            resolved_at=T0 + timedelta(minutes=3),
            resolved_by="ana",
            resolution_code="duplicate",
            resolution_notes="same as inc-0",
        )
    if state is CLOSED:
        incident = replace(incident, state=CLOSED, closed_at=T0 + timedelta(minutes=4))
    return incident


def actor_for(action: Action) -> Actor:
    return tocsin() if TRANSITIONS[action].role is None else ANA


# Every (state, action) pair: the state it leads to, or None for a 409.
# Columns: acknowledge, hold, resume, resolve, close, reopen, merge (resolved as a
# duplicate), escalate, auto_resolve, auto_reopen, auto_close, source_acknowledge,
# retrigger.
_ = None
TABLE: dict[IncidentState, tuple[IncidentState | None, ...]] = {
    TRIGGERED: (
        ACKNOWLEDGED, ON_HOLD, _, RESOLVED, _, _, RESOLVED, TRIGGERED, RESOLVED, _, _,
        ACKNOWLEDGED, _,
    ),
    # Escalate and an acknowledgement's timeout (retrigger) trigger it again.
    ACKNOWLEDGED: (
        _, ON_HOLD, _, RESOLVED, _, _, RESOLVED, TRIGGERED, RESOLVED, _, _, _, TRIGGERED,
    ),
    # Resume goes back to where the hold began (acknowledged here).
    ON_HOLD: (_, _, ACKNOWLEDGED, RESOLVED, _, _, RESOLVED, _, RESOLVED, _, _, _, _),
    # Close, reopen (back to triggered), auto-close once due (8 days later below).
    RESOLVED: (_, _, _, _, CLOSED, TRIGGERED, _, _, _, TRIGGERED, CLOSED, _, _),
    # Closed is final.
    CLOSED: (_, _, _, _, _, _, _, _, _, _, _, _, _),
}  # fmt: skip
PAIRS = [
    pytest.param(state, action, TABLE[state][i], id=f"{state}-{action}")
    for state in TABLE
    for i, action in enumerate(Action)
]


@pytest.mark.parametrize(("state", "action", "expected"), PAIRS)
def test_every_state_and_action(
    state: IncidentState, action: Action, expected: IncidentState | None
) -> None:
    incident = in_state(state)
    now = T0 + timedelta(days=8)  # past the 7-day auto-close of a resolved incident
    if expected is None:
        with pytest.raises(InvalidTransition) as raised:
            apply(incident, REQUESTS[action], actor_for(action), now, POLICY)
        assert raised.value.status == 409
        assert raised.value.details() == {
            "state": state.value,
            "allowed": list(allowed_actions(state)),
        }
        return
    change = apply(incident, REQUESTS[action], actor_for(action), now, POLICY)
    assert change.incident.state is expected
    event = change.event
    assert (event.incident_id, event.at, event.actor, event.kind) == (
        "inc-1",
        now,
        actor_for(action).name,
        TRANSITIONS[action].event,
    )
    assert (event.detail["from"], event.detail["to"]) == (state.value, expected.value)
    assert event.detail.get("automatic", False) is (TRANSITIONS[action].role is None)
    # The lifecycle changes the incident's lifecycle fields only; the store sets versions.
    assert change.incident.version == incident.version
    assert change.incident.alerts is incident.alerts


def test_the_allowed_actions_of_each_state() -> None:
    assert allowed_actions(TRIGGERED) == ("acknowledge", "hold", "resolve", "merge", "escalate")
    assert allowed_actions(ACKNOWLEDGED) == ("hold", "resolve", "merge", "escalate")
    assert allowed_actions(ON_HOLD) == ("resume", "resolve", "merge")
    assert allowed_actions(RESOLVED) == ("close", "reopen")
    assert allowed_actions(CLOSED) == ()


def test_an_invalid_transition_says_what_is_allowed() -> None:
    with pytest.raises(InvalidTransition) as raised:
        apply(in_state(RESOLVED), Acknowledge(), ANA, T0 + timedelta(hours=1), POLICY)
    assert str(raised.value) == (
        "cannot acknowledge an incident that is resolved; it allows: close, reopen"
    )
    with pytest.raises(InvalidTransition, match=r"nothing \(it is final\)"):
        apply(in_state(CLOSED), Reopen("again"), ANA, T0 + timedelta(hours=1), POLICY)


def _do(incident: Incident, request: Request, minutes: float, actor: Actor = ANA) -> Transitioned:
    return apply(incident, request, actor, T0 + timedelta(minutes=minutes), POLICY)


def test_acknowledge_records_who_and_when() -> None:
    change = _do(opened(), Acknowledge("on it"), 5)
    incident = change.incident
    assert (incident.acknowledged_at, incident.acknowledged_by) == (
        T0 + timedelta(minutes=5),
        "ana",
    )
    assert change.event.detail == {"from": "triggered", "to": "acknowledged", "note": "on it"}


def test_hold_and_resume_return_to_where_the_incident_was_and_count_the_pause() -> None:
    held = _do(opened(), Hold("waiting on the vendor"), 5).incident
    assert (held.state, held.hold_reason, held.on_hold_since) == (
        ON_HOLD,
        "waiting on the vendor",
        T0 + timedelta(minutes=5),
    )
    resumed = _do(held, Resume(), 20)
    # Held from triggered: back to triggered, not acknowledged.
    assert resumed.incident.state is TRIGGERED
    assert (resumed.incident.hold_reason, resumed.incident.on_hold_since) == (None, None)
    assert resumed.incident.on_hold_total == timedelta(minutes=15)
    acknowledged = _do(resumed.incident, Acknowledge(), 21).incident
    held_again = _do(acknowledged, Hold("change window"), 30).incident
    again = _do(held_again, Resume(), 40).incident
    assert again.state is ACKNOWLEDGED
    assert again.on_hold_total == timedelta(minutes=25)


def test_resolve_takes_a_code_from_the_rules_and_notes_and_ends_a_hold() -> None:
    held = _do(opened(), Hold("vendor"), 5).incident
    change = _do(held, Resolve("solved_workaround", "restarted the array"), 35)
    incident = change.incident
    assert (incident.state, incident.resolved_at, incident.resolved_by) == (
        RESOLVED,
        T0 + timedelta(minutes=35),
        "ana",
    )
    assert (incident.resolution_code, incident.resolution_notes) == (
        "solved_workaround",
        "restarted the array",
    )
    assert not incident.auto_resolved
    assert (incident.hold_reason, incident.on_hold_total) == (None, timedelta(minutes=30))
    assert change.event.detail["resolution_code"] == "solved_workaround"


def test_a_resolution_code_outside_the_rules_list_is_a_400_naming_the_field() -> None:
    policy = LifecyclePolicy(resolution_codes=("fixed", "false_alarm"))
    with pytest.raises(InvalidFields) as raised:
        apply(opened(), Resolve("duplicate", "x"), ANA, T0, policy)
    assert raised.value.status == 400
    assert raised.value.field == "resolution_code"
    assert "fixed, false_alarm" in str(raised.value)
    assert apply(opened(), Resolve("fixed", "x"), ANA, T0, policy).incident.state is RESOLVED


def test_auto_resolve_is_marked_automatic_and_may_be_stale() -> None:
    change = _do(opened(), AutoResolve("expired: not refreshed", stale=True), 9, tocsin())
    incident = change.incident
    assert (incident.auto_resolved, incident.stale_resolved, incident.resolved_by) == (
        True,
        True,
        "tocsin",
    )
    assert incident.resolution_code is None
    assert change.event.detail == {
        "from": "triggered",
        "to": "resolved",
        "reason": "expired: not refreshed",
        "automatic": True,
    }


def test_close_records_who_and_when() -> None:
    incident = _do(in_state(RESOLVED), Close("confirmed with the caller"), 60).incident
    assert (incident.state, incident.closed_at, incident.closed_by) == (
        CLOSED,
        T0 + timedelta(minutes=60),
        "ana",
    )


def test_auto_close_only_once_the_delay_passed() -> None:
    resolved = in_state(RESOLVED)
    due = T0 + timedelta(minutes=3, days=7)
    assert auto_close_due(resolved, POLICY) == due
    with pytest.raises(Conflict, match="not due"):
        apply(resolved, AutoClose(), tocsin(), due - timedelta(seconds=1), POLICY)
    closed = apply(resolved, AutoClose(), tocsin(), due, POLICY).incident
    assert (closed.state, closed.closed_at, closed.closed_by) == (CLOSED, due, "tocsin")
    # auto_close_after 0s: never.
    never = LifecyclePolicy(auto_close_after=timedelta(0))
    assert auto_close_due(resolved, never) is None
    with pytest.raises(Conflict, match="never"):
        apply(resolved, AutoClose(), tocsin(), due + timedelta(days=365), never)
    assert auto_close_due(opened(), POLICY) is None


@pytest.mark.parametrize(
    ("request_", "actor", "detail"),
    [
        # A person reopens, saying why.
        pytest.param(Reopen("latency is back"), ANA, {"reason": "latency is back"}, id="person"),
        # Tocsin reopens when an alert fires again within the reopen window.
        pytest.param(
            AutoReopen("fired again", "f1"),
            tocsin(),
            {"reason": "fired again", "fingerprint": "f1", "automatic": True},
            id="automatic",
        ),
    ],
)
def test_reopen_goes_back_to_triggered_and_counts(
    request_: Request, actor: Actor, detail: dict[str, object]
) -> None:
    resolved = replace(in_state(RESOLVED), stale_resolved=True, reopen_count=2)
    change = _do(resolved, request_, 10, actor)
    incident = change.incident
    assert (incident.state, incident.reopen_count) == (TRIGGERED, 3)
    assert (incident.acknowledged_at, incident.resolved_at, incident.resolved_by) == (
        None,
        None,
        None,
    )
    assert (incident.resolution_code, incident.resolution_notes) == (None, None)
    assert not incident.stale_resolved
    assert change.event.kind == "reopened"
    assert change.event.detail == {"from": "resolved", "to": "triggered", **detail}


@pytest.mark.parametrize("action", [a for a in Action if TRANSITIONS[a].role is not None])
def test_a_viewer_may_not_change_a_state_a_responder_and_an_admin_may(action: Action) -> None:
    state = next(s for s in TABLE if s in TRANSITIONS[action].sources)
    incident = in_state(state)
    with pytest.raises(Forbidden, match="needs a responder key") as raised:
        apply(incident, REQUESTS[action], Actor("wall", Role.VIEWER), T0, POLICY)
    assert raised.value.status == 403
    for role in (Role.RESPONDER, Role.ADMIN):
        apply(incident, REQUESTS[action], Actor("ops", role), T0, POLICY)


@pytest.mark.parametrize("action", list(Action))
def test_automatic_actions_are_tocsin_s_and_people_s_are_people_s(action: Action) -> None:
    state = next(s for s in TABLE if s in TRANSITIONS[action].sources)
    wrong = ANA if TRANSITIONS[action].role is None else tocsin()
    with pytest.raises(Forbidden):
        apply(in_state(state), REQUESTS[action], wrong, T0 + timedelta(days=8), POLICY)


def test_the_role_is_checked_before_the_state() -> None:
    # A viewer learns nothing about what the incident allows.
    with pytest.raises(Forbidden):
        apply(in_state(CLOSED), Reopen("x"), Actor("wall", Role.VIEWER), T0, POLICY)


def test_a_transition_is_never_timed_before_the_incident_s_last_one() -> None:
    # The correlator judges at log time, which can be earlier than the incident's opening
    # (it opened when the correlator got to a backlog): the times stay in order.
    change = apply(
        opened(), AutoResolve("all resolved"), tocsin(), T0 - timedelta(minutes=5), POLICY
    )
    assert change.incident.resolved_at == T0 == change.event.at
    acknowledged = in_state(ACKNOWLEDGED)
    resolved = apply(acknowledged, Resolve("duplicate", "x"), ANA, T0, POLICY).incident
    assert resolved.resolved_at == acknowledged.acknowledged_at
