"""The correlator keeps each incident's next sweep time in the store's index."""

from __future__ import annotations

from datetime import timedelta

from core.incident import OPEN_STATES, IncidentState
from core.model import AlertStatus
from core.store import IncidentQuery
from tests.correlate.harness import Harness, alert


async def due_titles(harness: Harness) -> list[str]:
    """The titles of the open incidents the store says are due for the sweep now."""
    query = IncidentQuery(states=OPEN_STATES, sweep_due_by=harness.clock.now())
    return sorted(i.title for i in await harness.store.list_incidents(query))


async def test_a_step_sets_the_incident_due_at_its_earliest_alert_end(harness: Harness) -> None:
    now = harness.clock.now()
    await harness.send(
        alert(now, ends_at=now + timedelta(minutes=9), alertname="Disk", instance="a"),
        alert(now, ends_at=now + timedelta(minutes=4), alertname="Disk", instance="b"),
    )
    incident = await harness.only_incident()
    assert incident.sweep_at == now + timedelta(minutes=4)


async def test_the_sweep_expires_what_is_due_and_moves_the_incident_time_on(
    harness: Harness,
) -> None:
    now = harness.clock.now()
    await harness.send(
        alert(now, ends_at=now + timedelta(minutes=4), alertname="Soon", instance="a"),
        alert(now, ends_at=now + timedelta(minutes=4), alertname="Soon", instance="b"),
        alert(now, ends_at=now + timedelta(hours=1), alertname="Later", instance="c"),
    )
    await harness.correlator.sweep()  # the first sweep reads every open incident
    harness.advance(minutes=2)
    # b is refreshed; a is not, so Soon is due at a's end and only a expires there.
    await harness.send(
        alert(now, ends_at=now + timedelta(minutes=10), alertname="Soon", instance="b")
    )
    assert await due_titles(harness) == []
    harness.advance(minutes=3)
    assert await due_titles(harness) == ["Soon"]
    assert await harness.correlator.sweep() == 1
    soon = next(i for i in await harness.incidents() if i.title == "Soon")
    assert soon.alerts[alert(now, alertname="Soon", instance="a").fingerprint].status is (
        AlertStatus.RESOLVED
    )
    assert soon.state is not IncidentState.RESOLVED  # b still fires
    assert soon.sweep_at == now + timedelta(minutes=10)
    assert await due_titles(harness) == []


async def test_a_due_sweep_still_expires_the_last_alert_and_resolves(harness: Harness) -> None:
    now = harness.clock.now()
    await harness.send(alert(now, ends_at=now + timedelta(hours=1), alertname="Later"))
    await harness.correlator.sweep()
    harness.advance(minutes=61)
    assert await harness.correlator.sweep() == 1
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    # Next due when it closes itself (core.lifecycle, the rules' 7 days by default).
    assert incident.sweep_at == incident.resolved_at + timedelta(days=7)
