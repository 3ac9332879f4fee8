"""The correlator's own transitions go through core.lifecycle: marked automatic, by Tocsin,
on the timeline with who and when; a reopen goes back to triggered and is counted."""

from __future__ import annotations

from core.incident import IncidentState
from core.model import AlertStatus
from tests.correlate.harness import T0, Harness, alert

RESOLVED = AlertStatus.RESOLVED
DISK = {"alertname": "DiskFull", "service": "db", "instance": "db1"}


async def test_all_alerts_resolving_resolves_it_marked_automatic(harness: Harness) -> None:
    await harness.send(alert(T0, **DISK))
    harness.advance(minutes=2)
    await harness.send(alert(T0, RESOLVED, **DISK))
    harness.advance(minutes=2)  # past the resolve delay
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert (incident.auto_resolved, incident.resolved_by, incident.resolution_code) == (
        True,
        "tocsin",
        None,
    )
    [event] = [e for e in await harness.store.incident_events(incident.id) if e.kind == "resolved"]
    assert (event.actor, event.at) == ("tocsin", incident.resolved_at)
    assert event.detail == {
        "from": "triggered",
        "to": "resolved",
        "reason": "all its alerts resolved",
        "automatic": True,
        "flapping": False,
    }


async def test_each_reopen_goes_back_to_triggered_and_is_counted(harness: Harness) -> None:
    await harness.send(alert(T0, **DISK))
    for episode in (1, 2):
        await harness.send(alert(harness.clock.now(), RESOLVED, **DISK))
        harness.advance(minutes=5)
        await harness.correlator.sweep()
        assert (await harness.only_incident()).state is IncidentState.RESOLVED
        harness.advance(minutes=5)
        await harness.send(alert(harness.clock.now(), **DISK))
        incident = await harness.only_incident()
        assert (incident.state, incident.reopen_count) == (IncidentState.TRIGGERED, episode)
        assert (incident.resolved_at, incident.auto_resolved) == (None, False)
    events = await harness.store.incident_events(incident.id)
    reopens = [e for e in events if e.kind == "reopened"]
    assert [e.detail["automatic"] for e in reopens] == [True, True]
    assert {e.detail["fingerprint"] for e in reopens} == set(incident.alerts)
    assert [e.detail["from"] for e in reopens] == ["resolved", "resolved"]
