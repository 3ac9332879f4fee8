"""Stale-resolve and hold-back judged right (issue 9 items 2 and 7), on the injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from core.incident import IncidentEvent, IncidentState
from core.model import AlertStatus
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert

RESOLVED = AlertStatus.RESOLVED
EXPIRED_REASON = "expired: not refreshed before its end (the source may have died)"


async def resolved_event(harness: Harness) -> IncidentEvent:
    incident = await harness.only_incident()
    [event] = [e for e in await harness.store.incident_events(incident.id) if e.kind == "resolved"]
    return event


async def test_a_stale_resolve_keeps_its_flag_and_reason_through_the_resolve_delay(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(minutes=2)))
    await harness.send(alert(T0, ends_at=T0 + timedelta(minutes=4), alertname="Up", service="api"))
    harness.advance(minutes=4)
    assert await harness.correlator.sweep() == 1  # the alert expired; the delay runs
    incident = await harness.only_incident()
    assert incident.is_open
    assert [a.expired for a in incident.alerts.values()] == [True]
    harness.advance(minutes=2)
    assert await harness.correlator.sweep() == 1
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    assert (await resolved_event(harness)).detail["reason"] == EXPIRED_REASON


async def test_an_expiry_followed_by_an_explicit_resolve_is_not_stale(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(minutes=2)))
    ends = T0 + timedelta(minutes=4)
    await harness.send(
        alert(T0, ends_at=ends, alertname="Err", service="api", instance="a1"),
        alert(T0, ends_at=T0 + timedelta(hours=1), alertname="Err", service="api", instance="a2"),
    )
    harness.advance(minutes=4)
    await harness.correlator.sweep()  # a1 expires
    harness.advance(minutes=1)
    # a2's sender resolves it: the sender, not expiry, ended the incident.
    await harness.send(
        alert(harness.clock.now(), RESOLVED, alertname="Err", service="api", instance="a2")
    )
    harness.advance(minutes=2)
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert not incident.stale_resolved
    assert (await resolved_event(harness)).detail["reason"] == "all its alerts resolved"


async def test_a_resolve_timeout_expiry_names_the_timeout(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(
        Tuning(resolve_delay=timedelta(minutes=1), resolve_timeout=timedelta(minutes=5))
    )
    await harness.send(alert(T0, alertname="Hook", service="api"))  # no end
    harness.advance(minutes=5)
    await harness.correlator.sweep()
    harness.advance(minutes=1)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).stale_resolved
    assert (await resolved_event(harness)).detail["reason"] == (
        "expired: not refreshed within resolve_timeout (5m)"
    )


async def test_a_two_second_blip_resolved_while_held_is_never_released(
    harness_with: Callable[..., Harness],
) -> None:
    # The case: hold 30 s, the default resolve delay; a 2 s blip resolved
    # explicitly by its sender.
    harness = harness_with(Tuning(hold_duration=timedelta(seconds=30)))
    await harness.send(alert(T0, alertname="Blip", service="api"))
    harness.advance(seconds=2)
    await harness.send(alert(harness.clock.now(), RESOLVED, alertname="Blip", service="api"))
    for _ in range(30):  # five minutes of sweeps, every 10 s
        harness.advance(seconds=10)
        await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.held  # never released: it never paged
    assert not incident.stale_resolved  # its sender resolved it
    timeline = await harness.timeline(incident)
    assert "released" not in timeline
    assert (await resolved_event(harness)).detail["reason"] == "all its alerts resolved"


async def test_a_held_incident_still_firing_is_released_after_the_hold(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(hold_duration=timedelta(seconds=30)))
    await harness.send(alert(T0, alertname="Real", service="api"))
    harness.advance(seconds=30)
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert not incident.held
    assert "released" in await harness.timeline(incident)


async def test_a_held_incident_whose_alert_count_is_met_only_by_resolved_alerts_stays_held(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(hold_alerts=2, hold_duration=timedelta(minutes=10)))
    await harness.send(alert(T0, alertname="Err", service="api", instance="a1"))
    await harness.send(alert(T0, RESOLVED, alertname="Err", service="api", instance="a1"))
    await harness.send(alert(T0, RESOLVED, alertname="Err", service="api", instance="a2"))
    assert (await harness.only_incident()).held
