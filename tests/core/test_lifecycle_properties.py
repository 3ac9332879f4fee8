"""Any sequence of lifecycle actions, by anyone, keeps the lifecycle's invariants (hypothesis)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import Conflict, Forbidden, InvalidTransition
from core.incident import OPEN_STATES, Incident, IncidentState
from core.lifecycle import TRANSITIONS, Actor, LifecyclePolicy, apply, tocsin
from core.lifecycle_requests import Action
from core.roles import Role
from tests.core.test_lifecycle import REQUESTS, T0, opened

POLICY = LifecyclePolicy(auto_close_after=timedelta(hours=6))
ACTORS = [tocsin(), *(Actor(role.value, role) for role in Role)]
# Steps go forward in time, sometimes not at all, sometimes backwards (a correlator
# judging at log time behind a person's action).
STEPS = st.lists(
    st.tuples(
        st.sampled_from(list(Action)),
        st.sampled_from(ACTORS),
        st.integers(min_value=-30, max_value=600),
    ),
    max_size=40,
)


def assert_invariants(incident: Incident) -> None:
    """What must hold for an incident whatever happened to it."""
    # Times in order: opened <= acknowledged <= (held since) <= resolved <= closed.
    times = [
        incident.opened_at,
        incident.acknowledged_at,
        incident.on_hold_since,
        incident.resolved_at,
        incident.closed_at,
    ]
    present = [t for t in times if t is not None]
    assert present == sorted(present), incident
    # The last transition is the latest of them.
    if incident.state_changed_at is not None:
        assert incident.state_changed_at >= max(present)
    state = incident.state
    # Each state has exactly the marks it should.
    assert (incident.resolved_at is not None) is (
        state in (IncidentState.RESOLVED, IncidentState.CLOSED)
    )
    assert (incident.closed_at is not None) is (state is IncidentState.CLOSED)
    assert (incident.on_hold_since is not None) is (state is IncidentState.ON_HOLD)
    assert (incident.hold_reason is not None) is (state is IncidentState.ON_HOLD)
    if state is IncidentState.ACKNOWLEDGED:
        assert incident.acknowledged_at is not None
        assert incident.acknowledged_by is not None
    if state in OPEN_STATES:
        assert incident.resolution_code is None
        assert not incident.auto_resolved
    assert incident.on_hold_total >= timedelta(0)


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_any_sequence_of_actions_keeps_the_invariants(
    steps: list[tuple[Action, Actor, int]],
) -> None:
    incident = opened()
    now = T0
    last_event_at = T0
    for action, actor, minutes in steps:
        now += timedelta(minutes=minutes)
        before = incident
        spec = TRANSITIONS[action]
        refused: InvalidTransition | None = None
        try:
            change = apply(incident, REQUESTS[action], actor, now, POLICY)
        except Forbidden:
            # Only the role decides: Tocsin's actions are Tocsin's, people's need a responder.
            if spec.role is None:
                assert not actor.automatic
            else:
                assert actor.role is None or not actor.role.allows(spec.role)
            continue
        except InvalidTransition as exc:
            refused = exc
        except Conflict:
            # An auto-close before its time, and only that.
            assert action is Action.AUTO_CLOSE
            continue
        if refused is not None:
            # Only the state decides, and the answer lists what it allows.
            assert before.state not in spec.sources
            assert action.value not in refused.allowed
            continue
        incident = change.incident
        assert before.state in spec.sources
        assert before.state is not IncidentState.CLOSED  # closed is final
        # The reopen count grows on a reopen, by one, and never otherwise.
        reopening = action in (Action.REOPEN, Action.AUTO_REOPEN)
        assert incident.reopen_count == before.reopen_count + (1 if reopening else 0)
        assert incident.on_hold_total >= before.on_hold_total
        # Every transition is on the timeline: who, and when, never before the last one.
        assert change.event.actor == actor.name
        assert change.event.at >= last_event_at
        last_event_at = change.event.at
        assert_invariants(incident)
