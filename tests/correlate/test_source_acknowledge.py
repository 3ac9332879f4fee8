"""A PagerDuty ``acknowledge`` goes on its incident's timeline (issue 9, item 6).

It was answered 202 and then ignored. Now the correlator records it, with the source
and the dedup key, and changes nothing else: the incident keeps its state (the
lifecycle issue makes it acknowledge the incident), and a late acknowledgement never
re-fires a resolved alert or opens an incident.
"""

from __future__ import annotations

from typing import Any

from core.incident import IncidentState
from core.model import Alert, AlertStatus
from ingest.decode.pagerduty import decode_pagerduty
from tests.correlate.harness import T0, Harness


def _event(action: str, **extra: Any) -> Alert:
    body: dict[str, Any] = {"routing_key": "k", "event_action": action, "dedup_key": "db-latency"}
    body.update(extra)
    decoded = decode_pagerduty(body, "pd", T0)
    [alert] = decoded.alerts
    return alert


TRIGGER = {
    "payload": {"summary": "DB latency high", "source": "db1", "severity": "critical"},
}


async def test_an_acknowledge_is_on_the_timeline_and_changes_no_state(harness: Harness) -> None:
    await harness.send(_event("trigger", **TRIGGER))
    opened = await harness.only_incident()
    harness.advance(minutes=1)
    await harness.send(_event("acknowledge"))
    incident = await harness.only_incident()
    assert incident.state is IncidentState.TRIGGERED
    assert incident.alerts == opened.alerts  # not a refresh or a change of the alert
    events = await harness.store.incident_events(incident.id)
    [ack] = [e for e in events if e.kind == "source_acknowledged"]
    assert ack.detail == {
        "fingerprint": next(iter(incident.alerts)),
        "source": "pd",
        "dedup_key": "db-latency",
    }
    assert ack.at == harness.clock.now()


async def test_a_late_acknowledge_never_refires_a_resolved_alert(harness: Harness) -> None:
    await harness.send(_event("trigger", **TRIGGER))
    harness.advance(minutes=1)
    await harness.send(_event("resolve"))
    assert (await harness.only_incident()).state is IncidentState.RESOLVED
    harness.advance(minutes=1)
    await harness.send(_event("acknowledge"))
    incident = await harness.only_incident()  # and no new incident
    assert incident.state is IncidentState.RESOLVED
    assert all(a.status is AlertStatus.RESOLVED for a in incident.alerts.values())
    kinds = [e.kind for e in await harness.store.incident_events(incident.id)]
    assert "source_acknowledged" not in kinds  # nothing open to tell
