"""New-user report item 6: a dead Prometheus behind Alertmanager is an expiry, not a fix.

Alertmanager expires an alert whose sender died when the end the sender last promised
passes, and then relays a resolve whose ``endsAt`` is that end; Prometheus' own resolve
carries the time it resolved, before that end. A resolve whose end is not before the
alert's known end (the latest its sender gave) confirms the expiry: the alert stays
expired, the incident is stale-resolved with the expiry's reason, and the expiry and
the relay's resolve are one state change, whichever the correlator saw first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from core.incident import IncidentState
from core.model import Alert, AlertStatus
from core.timestamps import format_rfc3339
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert

PROMISED = T0 + timedelta(minutes=4)  # the end Prometheus last promised
EXPIRED_REASON = "expired: not refreshed before its end (the source may have died)"


def firing(ends_at: datetime = PROMISED) -> Alert:
    return alert(T0, ends_at=ends_at, alertname="HighLatency", service="api")


def resolve(at: datetime, ends_at: datetime) -> Alert:
    """A resolve of the alert that fired at T0, received at ``at``, with the sender's end."""
    resolved = alert(at, AlertStatus.RESOLVED, alertname="HighLatency", service="api")
    return replace(resolved, starts_at=T0, ends_at=ends_at)


async def _events(harness: Harness) -> dict[str, list[dict[str, object]]]:
    incident = await harness.only_incident()
    events: dict[str, list[dict[str, object]]] = {}
    for event in await harness.store.incident_events(incident.id):
        events.setdefault(event.kind, []).append(dict(event.detail))
    return events


async def test_the_relayed_resolve_after_the_expiry_keeps_the_incident_stale(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(minutes=2)))
    await harness.send(firing())
    harness.advance(minutes=4, seconds=30)
    await harness.correlator.sweep()  # Prometheus is dead: its alert expires
    harness.advance(seconds=30)
    # Alertmanager expired it too, and relays its resolve with the promised end.
    await harness.send(resolve(harness.clock.now(), PROMISED))
    harness.advance(minutes=2)
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    [entry] = incident.alerts.values()
    assert entry.expired
    assert entry.transitions == (PROMISED,)  # one change, not two
    events = await _events(harness)
    assert [e["reason"] for e in events["resolved"]] == [EXPIRED_REASON]
    assert "alert_resolved" not in events


async def test_the_relayed_resolve_before_any_sweep_is_the_expiry(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(0)))
    await harness.send(firing())
    harness.advance(minutes=5)
    await harness.send(resolve(harness.clock.now(), PROMISED))  # no sweep in between
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    [entry] = incident.alerts.values()
    assert entry.expired
    assert entry.transitions == (PROMISED,)  # timed at the end that passed, as an expiry
    events = await _events(harness)
    assert events["alert_expired"] == [
        {
            "fingerprint": entry.fingerprint,
            "reason": EXPIRED_REASON,
            "expired_at": format_rfc3339(PROMISED),
        }
    ]
    assert "alert_resolved" not in events
    assert [e["reason"] for e in events["resolved"]] == [EXPIRED_REASON]
    # The sweep that comes later changes nothing and counts nothing again.
    await harness.correlator.sweep()
    [entry] = (await harness.only_incident()).alerts.values()
    assert entry.transitions == (PROMISED,)


async def test_an_expiry_and_its_relay_do_not_make_a_flap(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(
        Tuning(resolve_delay=timedelta(minutes=5), flap_changes=2, flap_window=timedelta(hours=1))
    )
    await harness.send(firing())
    harness.advance(minutes=5)
    await harness.correlator.sweep()  # the expiry
    await harness.send(resolve(harness.clock.now(), PROMISED))  # the relay
    harness.advance(minutes=5)
    await harness.send(resolve(harness.clock.now(), PROMISED))  # the other HA peer's copy
    incident = await harness.only_incident()
    assert not incident.flapping
    [entry] = incident.alerts.values()
    assert entry.transitions == (PROMISED,)


async def test_prometheus_own_resolve_before_the_promised_end_is_a_fix(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(0)))
    await harness.send(firing())
    harness.advance(minutes=2)
    now = harness.clock.now()
    await harness.send(resolve(now, now))
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert not incident.stale_resolved
    assert [a.expired for a in incident.alerts.values()] == [False]
    assert [e["reason"] for e in (await _events(harness))["resolved"]] == [
        "all its alerts resolved"
    ]


async def test_a_resolve_before_the_latest_end_the_sender_gave_is_a_fix(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(0)))
    first = firing()
    await harness.send(first)
    # A resend answered as a duplicate moved the end later (core.store.AlertEnds).
    await harness.store.extend_ends({first.fingerprint: T0 + timedelta(minutes=8)})
    harness.advance(minutes=6)
    now = harness.clock.now()
    await harness.send(resolve(now, now))  # after the logged end, before the latest
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert not incident.stale_resolved
    assert [a.expired for a in incident.alerts.values()] == [False]


async def test_prometheus_back_with_the_same_start_fires_again_after_the_relay(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(0)))
    await harness.send(firing())
    harness.advance(minutes=5)
    await harness.correlator.sweep()  # the expiry
    await harness.send(resolve(harness.clock.now(), PROMISED))  # the relay
    harness.advance(minutes=1)
    # Prometheus restarted and restored the alert's start (ALERTS_FOR_STATE): the sender
    # is back, not a late copy of an episode its sender resolved.
    await harness.send(firing(ends_at=harness.clock.now() + timedelta(minutes=4)))
    incident = await harness.only_incident()
    assert incident.state is IncidentState.TRIGGERED
    [entry] = incident.alerts.values()
    assert entry.status is AlertStatus.FIRING
    assert entry.transitions == (PROMISED, harness.clock.now())
