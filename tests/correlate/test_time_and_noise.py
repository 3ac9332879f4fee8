"""Mutes, inhibition, flap damping, staleness and hold-back, driven by a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from core.incident import IncidentState
from core.model import AlertStatus
from core.silence import LabelMatcher, Silence
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert

RESOLVED = AlertStatus.RESOLVED


async def test_maintenance_window_mutes_but_is_recorded_and_never_blocks_the_resolve(
    harness: Harness,
) -> None:
    # T0 is Tuesday 10:00 UTC, inside the tuesday-batch window.
    await harness.send(alert(T0, alertname="JobFailed", service="batch"))
    incident = await harness.only_incident()
    assert incident.muted
    [entry] = incident.alerts.values()
    assert entry.muted_by is not None
    assert entry.muted_by.startswith("maintenance window tuesday-batch")
    # Joined muted: the reason is in the join's record on the timeline.
    [joined] = [
        e for e in await harness.store.incident_events(incident.id) if e.kind == "alerts_joined"
    ]
    assert joined.detail["alerts"][0]["muted_by"] == entry.muted_by
    await harness.send(alert(T0, RESOLVED, alertname="JobFailed", service="batch"))
    resolved = await harness.only_incident()
    assert resolved.state is IncidentState.RESOLVED
    assert resolved.muted  # it was muted all its life, and stays recorded so


async def test_operator_silence_mutes_matching_alerts_only_while_active(harness: Harness) -> None:
    await harness.store.save_silence(
        Silence(
            "s1",
            (LabelMatcher("instance", "=~", "db[12]"),),
            T0,
            T0 + timedelta(hours=1),
            "ana",
            "disk swap",
            T0,
        )
    )
    await harness.send(
        alert(T0, alertname="DiskFull", service="db", instance="db1"),
        alert(T0, alertname="DiskFull", service="db", instance="db3"),
    )
    incident = await harness.only_incident()
    muted = {a.labels["instance"]: a.muted_by for a in incident.alerts.values()}
    assert muted["db1"] is not None
    assert "silence s1 by ana: disk swap" in muted["db1"]
    assert muted["db3"] is None
    assert not incident.muted  # db3 still pages


async def test_inhibition_mutes_targets_with_equal_labels_while_the_source_fires(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, alertname="ClusterDown", cluster="eu1", severity="critical"))
    await harness.send(
        alert(T0, alertname="PodCrash", cluster="eu1", severity="warning"),
        alert(T0, alertname="PodCrash", cluster="us1", severity="warning"),
    )
    pod = next(i for i in await harness.incidents() if "PodCrash" in i.group_key)
    muted = {a.labels["cluster"]: a.muted_by for a in pod.alerts.values()}
    assert muted["eu1"] is not None
    assert "inhibited by cluster-down" in muted["eu1"]
    assert muted["us1"] is None


async def test_flapping_alert_keeps_one_incident_open_until_a_quiet_hold_down(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(
        Tuning(
            resolve_delay=timedelta(0),
            flap_changes=3,
            flap_window=timedelta(minutes=10),
            flap_hold_down=timedelta(minutes=5),
        )
    )
    for _ in range(3):
        await harness.send(alert(harness.clock.now(), alertname="Probe", service="web"))
        harness.advance(seconds=30)
        await harness.send(alert(harness.clock.now(), RESOLVED, alertname="Probe", service="web"))
        harness.advance(seconds=30)
    incident = await harness.only_incident()
    assert incident.flapping
    # Its alert is resolved, but the incident stays open through the flaps: only the
    # first resolve, before flapping was detected, went through.
    assert incident.is_open
    timeline = await harness.timeline(incident)
    assert timeline.count("opened") == 1
    assert timeline.count("resolved") == 1
    assert timeline.index("flapping") > timeline.index("resolved")
    harness.advance(minutes=4)
    assert await harness.correlator.sweep() == 0
    harness.advance(minutes=1)
    assert await harness.correlator.sweep() == 1
    assert (await harness.only_incident()).state is IncidentState.RESOLVED


async def test_with_the_default_tuning_a_flapping_alert_pages_once(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning())
    for _ in range(10):  # fires and resolves every 30 s for 10 minutes
        await harness.send(alert(harness.clock.now(), alertname="Probe", service="web"))
        harness.advance(seconds=30)
        await harness.send(alert(harness.clock.now(), RESOLVED, alertname="Probe", service="web"))
        harness.advance(seconds=30)
        await harness.correlator.sweep()
    incident = await harness.only_incident()
    timeline = await harness.timeline(incident)
    # One page: opened once, never resolved and reopened while it flapped.
    assert timeline.count("opened") == 1
    assert timeline.count("reopened") == 0
    assert timeline.count("resolved") == 0
    assert incident.flapping
    harness.advance(minutes=5)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).state is IncidentState.RESOLVED


async def test_alert_whose_end_passes_without_refresh_resolves_as_stale(harness: Harness) -> None:
    await harness.send(alert(T0, ends_at=T0 + timedelta(minutes=4), alertname="Up", service="api"))
    harness.advance(minutes=3)
    assert await harness.correlator.sweep() == 0
    harness.advance(minutes=1)
    assert await harness.correlator.sweep() == 1
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    assert "alert_expired" in await harness.timeline(incident)


async def test_refreshed_alert_does_not_go_stale(harness: Harness) -> None:
    await harness.send(alert(T0, ends_at=T0 + timedelta(minutes=4), alertname="Up", service="api"))
    harness.advance(minutes=3)
    now = harness.clock.now()
    await harness.send(alert(T0, ends_at=now + timedelta(minutes=4), alertname="Up", service="api"))
    harness.advance(minutes=2)
    assert await harness.correlator.sweep() == 0
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED


async def test_hold_back_releases_at_the_alert_threshold(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(hold_alerts=3, hold_duration=timedelta(minutes=10)))
    await harness.send(alert(T0, alertname="Err", service="api", instance="a1"))
    assert (await harness.only_incident()).held
    await harness.send(
        alert(T0, alertname="Err", service="api", instance="a2"),
        alert(T0, alertname="Err", service="api", instance="a3"),
    )
    incident = await harness.only_incident()
    assert not incident.held
    assert "released" in await harness.timeline(incident)


async def test_hold_back_releases_after_the_minimum_duration(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(Tuning(hold_alerts=3, hold_duration=timedelta(minutes=10)))
    await harness.send(alert(T0, alertname="Err", service="api", instance="a1"))
    harness.advance(minutes=10)
    assert await harness.correlator.sweep() == 1
    assert not (await harness.only_incident()).held


async def test_resolve_delay_absorbs_a_quick_refire(harness_with: Callable[..., Harness]) -> None:
    harness = harness_with(Tuning(resolve_delay=timedelta(minutes=2)))
    await harness.send(alert(T0, alertname="Err", service="api"))
    await harness.send(alert(T0, RESOLVED, alertname="Err", service="api"))
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED
    harness.advance(minutes=1)
    await harness.send(alert(harness.clock.now(), alertname="Err", service="api"))
    harness.advance(minutes=5)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED
