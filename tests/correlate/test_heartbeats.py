"""Heartbeats: when the pings stop an incident opens; when they return it resolves."""

from __future__ import annotations

from core.fingerprint import labels_fingerprint
from core.incident import IncidentState
from core.model import AlertStatus
from core.timestamps import micros
from tests.correlate.harness import Harness, alert

LABELS = {
    "service": "db",
    "severity": "critical",
    "alertname": "HeartbeatMissing",
    "heartbeat": "nightly-backup",
}


async def ping(harness: Harness) -> None:
    # What POST /ingest/heartbeat/nightly-backup records.
    await harness.store.save_cursor("heartbeat:nightly-backup", str(micros(harness.clock.now())))


async def test_missing_heartbeat_opens_an_incident_and_a_ping_resolves_it(harness: Harness) -> None:
    await harness.correlator.sweep()  # Tocsin learns of the heartbeat: its interval starts
    harness.advance(hours=25)
    await harness.correlator.sweep()
    await harness.correlator.drain()
    assert await harness.incidents() == []  # exactly the interval: not overdue yet
    harness.advance(minutes=1)
    await harness.correlator.sweep()
    await harness.correlator.drain()
    incident = await harness.only_incident()
    assert incident.state is IncidentState.TRIGGERED
    [entry] = incident.alerts.values()
    assert entry.fingerprint == labels_fingerprint(LABELS)
    # Categorised like any alert of the db service.
    assert (incident.service, incident.priority) == ("db", "P2")
    await ping(harness)
    await harness.send(alert(harness.clock.now(), AlertStatus.RESOLVED, **LABELS))
    assert (await harness.only_incident()).state is IncidentState.RESOLVED


async def test_overdue_heartbeat_is_logged_once_while_its_incident_is_open(
    harness: Harness,
) -> None:
    await harness.correlator.sweep()
    harness.advance(hours=26)
    for _ in range(3):
        await harness.correlator.sweep()
        await harness.correlator.drain()
        harness.advance(minutes=1)
    entries = await harness.store.read(None, 100)
    assert len(entries) == 1


async def test_regular_pings_open_nothing(harness: Harness) -> None:
    await harness.correlator.sweep()
    for _ in range(5):
        harness.advance(hours=24)
        await ping(harness)
        await harness.correlator.sweep()
    await harness.correlator.drain()
    assert await harness.incidents() == []
