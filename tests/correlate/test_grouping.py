"""Grouping, dedup, storms, categorisation and resolve, on a real SQLite store."""

from __future__ import annotations

from core.incident import IncidentState
from core.model import AlertStatus
from tests.correlate.harness import T0, Harness, alert

RESOLVED = AlertStatus.RESOLVED


async def test_storm_of_500_hosts_becomes_one_incident_whose_alert_list_grows(
    harness: Harness,
) -> None:
    storm = [alert(T0, alertname="DiskFull", service="db", instance=f"db{i}") for i in range(500)]
    for start in range(0, 500, 100):
        await harness.send(*storm[start : start + 100])
    incident = await harness.only_incident()
    assert len(incident.alerts) == 500
    assert incident.state is IncidentState.TRIGGERED
    # Consecutive joins make one "alerts_joined" event listing the hosts in order: one
    # per step of 100, except that the incident's categorisation after the first host
    # comes between it and the other 99 of the first step.
    events = await harness.store.incident_events(incident.id)
    assert [e.kind for e in events][:4] == [
        "opened",
        "alerts_joined",
        "categorised",
        "alerts_joined",
    ]
    joins = [e.detail["alerts"] for e in events if e.kind == "alerts_joined"]
    assert [len(alerts) for alerts in joins] == [1, 99, 100, 100, 100, 100]
    joined = [a["fingerprint"] for alerts in joins for a in alerts]
    assert [incident.alerts[f].labels["instance"] for f in joined] == [f"db{i}" for i in range(500)]
    assert all(a["status"] == "firing" for alerts in joins for a in alerts)


async def test_resends_are_counted_not_repeated_in_the_timeline(harness: Harness) -> None:
    disk = alert(T0, alertname="DiskFull", service="db", instance="db1")
    for _ in range(3):
        await harness.send(disk)
        harness.advance(minutes=1)
    incident = await harness.only_incident()
    [entry] = incident.alerts.values()
    assert entry.count == 3
    assert entry.first_seen == T0
    assert entry.last_seen > T0
    assert await harness.timeline(incident) == ["opened", "alerts_joined", "categorised"]


async def test_different_groups_open_different_incidents(harness: Harness) -> None:
    await harness.send(
        alert(T0, alertname="DiskFull", service="db", instance="db1"),
        alert(T0, alertname="HighLatency", service="api", instance="api1"),
        alert(T0, alertname="HighLatency", service="web", instance="web1"),
    )
    keys = sorted(i.group_key for i in await harness.incidents())
    assert keys == [
        'db:{alertname="DiskFull"}',
        '{}:{alertname="HighLatency",service="api"}',
        '{}:{alertname="HighLatency",service="web"}',
    ]


async def test_new_incident_is_categorised_and_prioritised_from_the_rules(harness: Harness) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    incident = await harness.only_incident()
    # impact high (1) x urgency medium (2): P = I + U - 1 = P2.
    assert (incident.category, incident.service, incident.priority) == ("database", "db", "P2")
    assert (incident.impact, incident.urgency, incident.team, incident.policy) == (
        1,
        2,
        "ops",
        "ops",
    )


async def test_incident_resolves_only_when_all_its_alerts_resolved(harness: Harness) -> None:
    db1 = alert(T0, alertname="DiskFull", service="db", instance="db1")
    db2 = alert(T0, alertname="DiskFull", service="db", instance="db2")
    await harness.send(db1, db2)
    await harness.send(alert(T0, RESOLVED, alertname="DiskFull", service="db", instance="db1"))
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED
    await harness.send(alert(T0, RESOLVED, alertname="DiskFull", service="db", instance="db2"))
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert not incident.stale_resolved
    assert (await harness.timeline(incident))[-1] == "resolved"


async def test_alert_firing_again_within_the_reopen_window_reopens_the_incident(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    await harness.send(alert(T0, RESOLVED, alertname="DiskFull", service="db", instance="db1"))
    harness.advance(minutes=30)
    await harness.send(
        alert(harness.clock.now(), alertname="DiskFull", service="db", instance="db1")
    )
    incident = await harness.only_incident()
    # Reopened: back to triggered, counted.
    assert (incident.state, incident.reopen_count) == (IncidentState.TRIGGERED, 1)
    assert "reopened" in await harness.timeline(incident)


async def test_alert_firing_again_after_the_reopen_window_opens_a_new_incident(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    await harness.send(alert(T0, RESOLVED, alertname="DiskFull", service="db", instance="db1"))
    harness.advance(hours=2)
    await harness.send(
        alert(harness.clock.now(), alertname="DiskFull", service="db", instance="db1")
    )
    first, second = await harness.incidents()
    assert (first.state, second.state) == (IncidentState.RESOLVED, IncidentState.TRIGGERED)


async def test_resolve_for_an_unknown_alert_opens_nothing(harness: Harness) -> None:
    await harness.send(alert(T0, RESOLVED, alertname="DiskFull", service="db", instance="db1"))
    assert await harness.incidents() == []


async def test_correlation_resumes_from_its_cursor_after_a_restart(harness: Harness) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    await harness.store.append([alert(T0, alertname="DiskFull", service="db", instance="db2")])
    # A new correlator (a restarted process) sees only the entry not yet consumed.
    assert await harness.correlator.drain() == 1
    assert await harness.correlator.drain() == 0
    incident = await harness.only_incident()
    assert sorted(a.labels["instance"] for a in incident.alerts.values()) == ["db1", "db2"]
