"""People and correlation write the same incident (issue 10): what happens when they meet.

A person's change goes through core.lifecycle and incident_change (tests.correlate.people),
the correlator's through its steps; both compare-and-set the incident's version. Each
case looks at the incident, its timeline and the incident event stream, on both stores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from core.incident import Incident, IncidentState
from core.lifecycle_requests import Acknowledge, Hold, Reopen, Request, Resolve
from core.model import AlertStatus
from core.store import OPERATOR_GROUP, CorrelationCommit, VersionConflict
from tests.correlate.harness import T0, Harness, alert
from tests.correlate.people import kinds, person, person_on, stream

RESOLVED = AlertStatus.RESOLVED
DB1 = {"alertname": "DiskFull", "service": "db", "instance": "db1"}
DB2 = {"alertname": "DiskFull", "service": "db", "instance": "db2"}
RESOLVE = Resolve("solved_workaround", "freed space by hand; the alert lags behind")

# What a person did to the triggered incident, and the state it is then in.
PEOPLE = [
    # Acknowledged: someone owns it.
    pytest.param(Acknowledge(), IncidentState.ACKNOWLEDGED, id="acknowledged"),
    # On hold: waiting on a vendor (SLA clocks pause).
    pytest.param(Hold("waiting on the storage vendor"), IncidentState.ON_HOLD, id="on_hold"),
]


@pytest.mark.parametrize(("request_", "state"), PEOPLE)
async def test_new_alerts_joining_keep_what_a_person_made_it(
    harness_on_each: Harness, request_: Request, state: IncidentState
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    opened = await h.only_incident()
    h.advance(minutes=1)
    await person(h, opened.id, request_)
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), **DB2))
    incident = await h.only_incident()
    assert incident.state is state
    assert set(incident.alerts) == {alert(T0, **DB1).fingerprint, alert(T0, **DB2).fingerprint}
    assert incident.state_changed_at == T0 + timedelta(minutes=1)  # the person's, not a join's
    # The join is on the timeline after the person's change, the stream says the state held.
    assert (await h.timeline(incident))[-2:] == [state_event(state), "alerts_joined"]
    events = await stream(h)
    person_event, joined = [e for e in events if e.incident_id == incident.id][-2:]
    assert (person_event.actor, person_event.state) == ("ana", state)
    assert (joined.kind, joined.actor, joined.state) == ("alerts_joined", "tocsin", state)
    assert joined.detail["alerts"] == [
        {"fingerprint": alert(T0, **DB2).fingerprint, "status": "firing"}
    ]


def state_event(state: IncidentState) -> str:
    return "acknowledged" if state is IncidentState.ACKNOWLEDGED else "on_hold"


# The state a person left the incident in before its alerts all resolved.
BEFORE_RESOLVING = [
    # Nobody touched it.
    pytest.param(None, "triggered", id="triggered"),
    # Acknowledged.
    pytest.param(Acknowledge(), "acknowledged", id="acknowledged"),
    # On hold: the hold ends with the resolve, its time counted.
    pytest.param(Hold("waiting on the storage vendor"), "on_hold", id="on_hold"),
]


@pytest.mark.parametrize(("request_", "was"), BEFORE_RESOLVING)
async def test_all_alerts_resolving_resolves_it_marked_automatic(
    harness_on_each: Harness, request_: Request | None, was: str
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    opened = await h.only_incident()
    if request_ is not None:
        await person(h, opened.id, request_)
    h.advance(minutes=10)
    await h.send(alert(T0, RESOLVED, **DB1))
    incident = await h.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert (incident.auto_resolved, incident.resolved_by, incident.resolution_code) == (
        True,
        "tocsin",
        None,
    )
    assert (incident.on_hold_since, incident.hold_reason) == (None, None)
    if was == "on_hold":
        assert incident.on_hold_total == timedelta(minutes=10)
    [resolved] = [e for e in await stream(h) if e.kind == "resolved"]
    assert (resolved.actor, resolved.state, resolved.version) == (
        "tocsin",
        IncidentState.RESOLVED,
        incident.version,
    )
    assert resolved.detail["from"] == was
    assert resolved.detail["automatic"] is True


async def _resend(h: Harness) -> None:
    # Prometheus resends the alert still firing: same labels, same start.
    await h.send(alert(T0, **DB1))


async def _refire(h: Harness) -> None:
    # The alert resolves, then fires again: a new firing transition.
    await h.send(alert(T0, RESOLVED, **DB1))
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), **DB1))


async def _new_alert(h: Harness) -> None:
    # Another alert of the group fires: a new fingerprint.
    await h.send(alert(h.clock.now(), **DB2))


# After a person resolved the incident while DB1 fired: how long later, what the alerts
# do, and what becomes of it ("stays" resolved, "reopens", or a "new" incident opens).
MEETINGS: list[Any] = [
    # Resends within the reopen window are no news: it stays resolved.
    pytest.param(timedelta(minutes=2), _resend, "stays", id="resend-within-window"),
    # Resends after the window too: no new incident for the unchanged alert.
    pytest.param(timedelta(hours=2), _resend, "stays", id="resend-after-window"),
    # Resolved, then firing again, within the window: reopened.
    pytest.param(timedelta(minutes=2), _refire, "reopens", id="refire-within-window"),
    # The same after the window: a new incident.
    pytest.param(timedelta(hours=2), _refire, "new", id="refire-after-window"),
    # A new alert of the group within the window: reopened.
    pytest.param(timedelta(minutes=2), _new_alert, "reopens", id="new-alert-within-window"),
    # A new alert after the window: a new incident.
    pytest.param(timedelta(hours=2), _new_alert, "new", id="new-alert-after-window"),
]


@pytest.mark.parametrize(("later", "alerts_do", "outcome"), MEETINGS)
async def test_a_person_resolving_while_alerts_fire(
    harness_on_each: Harness,
    later: timedelta,
    alerts_do: Callable[[Harness], Awaitable[None]],
    outcome: str,
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    opened = await h.only_incident()
    h.advance(minutes=1)
    await person(h, opened.id, RESOLVE)
    resolved = await h.only_incident()
    assert (resolved.state, resolved.resolved_by, resolved.auto_resolved) == (
        IncidentState.RESOLVED,
        "ana",
        False,
    )
    assert resolved.firing_count() == 1  # the person's word, not the alert's
    h.advance(seconds=later.total_seconds())
    await alerts_do(h)
    await h.correlator.sweep()
    incidents = await h.incidents()
    first = incidents[0]
    events = await stream(h)
    if outcome == "stays":
        assert [i.id for i in incidents] == [opened.id]
        assert (first.state, first.reopen_count, first.resolved_by) == (
            IncidentState.RESOLVED,
            0,
            "ana",
        )
        assert first.alerts[alert(T0, **DB1).fingerprint].count == 2  # the resend was taken in
        assert "reopened" not in kinds(events, first)
    elif outcome == "reopens":
        assert [i.id for i in incidents] == [opened.id]
        assert (first.state, first.reopen_count) == (IncidentState.TRIGGERED, 1)
        [reopened] = [e for e in events if e.kind == "reopened"]
        assert (reopened.actor, reopened.state) == ("tocsin", IncidentState.TRIGGERED)
        assert reopened.detail["from"] == "resolved"
    else:
        assert len(incidents) == 2
        assert (first.state, first.reopen_count) == (IncidentState.RESOLVED, 0)
        assert incidents[1].state is IncidentState.TRIGGERED
        assert kinds(events, incidents[1])[0] == "opened"
        assert "reopened" not in kinds(events, first)


async def test_a_person_writing_between_a_step_s_read_and_commit_loses_nothing(
    harness_on_each: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    opened = await h.only_incident()
    h.advance(minutes=1)
    store_commit = h.store.commit
    interleaved: list[Incident] = []

    async def commit(commit: CorrelationCommit) -> None:
        # The correlator's first commit of the step: a person acknowledges just before.
        if commit.group != OPERATOR_GROUP and not interleaved:
            interleaved.append(await person(h, opened.id, Acknowledge("on it")))
        await store_commit(commit)

    monkeypatch.setattr(h.store, "commit", commit)
    await h.send(alert(h.clock.now(), **DB2))
    incident = await h.only_incident()
    # The step conflicted, read again and applied its alert over the person's change.
    assert h.registry.get_sample_value("tocsin_correlator_conflicts_total") == 1
    assert (incident.state, incident.acknowledged_by) == (IncidentState.ACKNOWLEDGED, "ana")
    assert len(incident.alerts) == 2
    assert incident.version == interleaved[0].version + 1
    # Each change once: the retried step did not repeat its join, nor lose the person's.
    assert kinds(await stream(h), incident) == [
        "opened",
        "alerts_joined",
        "categorised",
        "acknowledged",
        "alerts_joined",
    ]


async def test_a_person_writing_a_stale_read_conflicts_and_reapplies(
    harness_on_each: Harness,
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    stale = await h.only_incident()
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), **DB2))  # the correlator writes first
    with pytest.raises(VersionConflict):
        await person_on(h, stale, Acknowledge())
    await person(h, stale.id, Acknowledge())  # read again, applied again
    incident = await h.only_incident()
    assert incident.state is IncidentState.ACKNOWLEDGED
    assert len(incident.alerts) == 2
    assert kinds(await stream(h), incident)[-2:] == ["alerts_joined", "acknowledged"]


async def test_a_person_reopening_over_resolved_alerts_keeps_it_open(
    harness_on_each: Harness,
) -> None:
    h = harness_on_each
    await h.send(alert(T0, **DB1))
    h.advance(minutes=1)
    await h.send(alert(T0, RESOLVED, **DB1))
    resolved = await h.only_incident()
    assert resolved.auto_resolved
    h.advance(minutes=10)
    await person(h, resolved.id, Reopen("customers still see errors"))
    for _ in range(3):  # sweeps, the first a full one: the old resolves are old news
        h.advance(minutes=5)
        await h.correlator.sweep()
    reopened = await h.only_incident()
    assert (reopened.state, reopened.reopen_count) == (IncidentState.TRIGGERED, 1)
    assert reopened.sweep_at is None  # nothing time-based pending: no sweep reads it again
    # A change of an alert after the reopen counts again: fires, resolves, resolves it.
    await h.send(alert(h.clock.now(), **DB1))
    h.advance(minutes=1)
    await h.send(alert(h.clock.now(), RESOLVED, **DB1))
    incident = await h.only_incident()
    assert (incident.state, incident.resolved_by) == (IncidentState.RESOLVED, "tocsin")
    assert kinds(await stream(h), incident)[-4:] == [
        "reopened",
        "alert_firing",
        "alert_resolved",
        "resolved",
    ]
