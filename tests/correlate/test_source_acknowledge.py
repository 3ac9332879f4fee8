"""A PagerDuty ``acknowledge`` or ``resolve`` acts on the incident of its dedup key (issue 10).

An acknowledge goes on the incident's timeline (``source_acknowledged``, issue 9 item 6)
and acknowledges a triggered incident through the lifecycle (``source_acknowledge``:
automatic, by ``pagerduty:<source>``); an incident already acknowledged or on hold keeps
its state, and a late acknowledgement never re-fires a resolved alert or opens an
incident. A resolve resolves its alert, and the incident when it was the last one firing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.incident import IncidentState
from core.lifecycle_requests import Acknowledge, Hold, Request
from core.model import Alert, AlertStatus
from ingest.decode.pagerduty import decode_pagerduty
from rules.correlation import Tuning
from tests.correlate.harness import RULES, T0, Harness, load_test_rules, make_harness
from tests.correlate.people import kinds, person, stream


def _event(action: str, dedup_key: str = "db-latency", **extra: Any) -> Alert:
    body: dict[str, Any] = {"routing_key": "k", "event_action": action, "dedup_key": dedup_key}
    body.update(extra)
    decoded = decode_pagerduty(body, "pd", T0)
    [alert] = decoded.alerts
    return alert


def _trigger(dedup_key: str = "db-latency", component: str = "db") -> Alert:
    payload = {
        "summary": f"{dedup_key} high",
        "source": "db1",
        "severity": "critical",
        "component": component,
    }
    return _event("trigger", dedup_key, payload=payload)


async def test_an_acknowledge_acknowledges_the_triggered_incident(
    harness_on_each: Harness,
) -> None:
    h = harness_on_each
    await h.send(_trigger())
    opened = await h.only_incident()
    h.advance(minutes=1)
    await h.send(_event("acknowledge"))
    incident = await h.only_incident()
    assert incident.state is IncidentState.ACKNOWLEDGED
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("pagerduty:pd", h.clock.now())
    assert incident.alerts == opened.alerts  # not a refresh or a change of the alert
    fingerprint = next(iter(incident.alerts))
    events = await h.store.incident_events(incident.id)
    noted, acknowledged = events[-2:]
    assert (noted.kind, noted.actor, noted.at) == ("source_acknowledged", "tocsin", h.clock.now())
    assert noted.detail == {"fingerprint": fingerprint, "source": "pd", "dedup_key": "db-latency"}
    assert (acknowledged.kind, acknowledged.actor) == ("acknowledged", "pagerduty:pd")
    assert acknowledged.detail == {
        "from": "triggered",
        "to": "acknowledged",
        "source": "pd",
        "fingerprint": fingerprint,
        "dedup_key": "db-latency",
        "automatic": True,
    }
    [streamed] = [e for e in await stream(h) if e.kind == "acknowledged"]
    assert (streamed.actor, streamed.state) == ("pagerduty:pd", IncidentState.ACKNOWLEDGED)


# What a person made the incident before PagerDuty's acknowledge came, and its state.
OWNED = [
    # Acknowledged by ana: she keeps it.
    pytest.param(Acknowledge(), IncidentState.ACKNOWLEDGED, id="acknowledged"),
    # On hold: it stays on hold.
    pytest.param(Hold("vendor ticket 42"), IncidentState.ON_HOLD, id="on_hold"),
]


@pytest.mark.parametrize(("request_", "state"), OWNED)
async def test_an_acknowledge_of_an_incident_someone_owns_is_only_noted(
    harness_on_each: Harness, request_: Request, state: IncidentState
) -> None:
    h = harness_on_each
    await h.send(_trigger())
    opened = await h.only_incident()
    await person(h, opened.id, request_)
    h.advance(minutes=1)
    await h.send(_event("acknowledge"))
    incident = await h.only_incident()
    assert incident.state is state
    assert incident.acknowledged_by == ("ana" if state is IncidentState.ACKNOWLEDGED else None)
    assert kinds(await stream(h), incident)[-1] == "source_acknowledged"


async def test_a_late_acknowledge_never_refires_a_resolved_alert(harness_on_each: Harness) -> None:
    h = harness_on_each
    await h.send(_trigger())
    h.advance(minutes=1)
    await h.send(_event("resolve"))
    assert (await h.only_incident()).state is IncidentState.RESOLVED
    h.advance(minutes=1)
    await h.send(_event("acknowledge"))
    incident = await h.only_incident()  # and no new incident
    assert incident.state is IncidentState.RESOLVED
    assert all(a.status is AlertStatus.RESOLVED for a in incident.alerts.values())
    timeline = await h.timeline(incident)
    assert "source_acknowledged" not in timeline  # nothing open to tell
    assert "acknowledged" not in timeline


# PagerDuty events sharing one incident: the route groups them by component.
GROUPED = RULES.replace(
    "  routes:\n",
    "  routes:\n    - name: pd\n      matchers: ['component=\"checkout\"']\n"
    "      group_by: [component]\n",
)


# The correlator's resolve delay: at once, or the default minute (then the sweep resolves).
DELAYS = [
    # At once: the step that takes the last resolve resolves the incident.
    pytest.param(timedelta(0), id="at-once"),
    # After the default delay of one minute, by the sweep.
    pytest.param(timedelta(minutes=1), id="after-delay"),
]


@pytest.mark.parametrize("delay", DELAYS)
async def test_a_resolve_of_the_last_alert_resolves_the_incident(
    harness_on_each: Harness, tmp_path: Path, delay: timedelta
) -> None:
    rules = load_test_rules(tmp_path, GROUPED)
    h = make_harness(harness_on_each.store, rules, Tuning(resolve_delay=delay))
    await h.send(_trigger("a", "checkout"), _trigger("b", "checkout"))
    opened = await h.only_incident()
    assert len(opened.alerts) == 2
    await h.send(_event("acknowledge", "a"))
    h.advance(minutes=1)
    await h.send(_event("resolve", "a"))
    h.advance(minutes=5)
    await h.correlator.sweep()
    assert (await h.only_incident()).state is IncidentState.ACKNOWLEDGED  # b still fires
    await h.send(_event("resolve", "b"))
    h.advance(seconds=delay.total_seconds())
    await h.correlator.sweep()
    incident = await h.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert (incident.auto_resolved, incident.resolved_by) == (True, "tocsin")
    events = await stream(h)
    assert kinds(events, incident)[-2:] == ["alert_resolved", "resolved"]
    assert events[-1].detail["from"] == "acknowledged"
