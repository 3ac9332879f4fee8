"""Late copies from an Alertmanager HA pair never re-fire a resolved alert (issue 9 item 9).

Both peers deliver every notification, with jitter and sometimes out of order. Prometheus
gives an alert that fires again a new ``startsAt``, so a firing copy with the start of an
alert its sender already resolved is stale: counted, never applied.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from core.incident import IncidentState
from core.model import Alert, AlertStatus
from tests.correlate.harness import T0, Harness, alert

FIRING = AlertStatus.FIRING
RESOLVED = AlertStatus.RESOLVED
LABELS = {"alertname": "QueueStuck", "service": "mq", "instance": "mq1"}


def copy(status: AlertStatus, starts: datetime, at: datetime) -> Alert:
    """One webhook delivery of the alert: its source start, no end while firing."""
    sent = alert(at, status, **LABELS)
    return replace(sent, starts_at=starts, ends_at=None if status is FIRING else at)


def late_copies(harness: Harness, status: str) -> float:
    value = harness.registry.get_sample_value(
        "tocsin_correlator_late_copies_total", {"status": status}
    )
    return value or 0.0


async def deliver(harness: Harness, *copies: Alert) -> None:
    for one in copies:
        harness.clock.set(one.received_at)
        await harness.send(one)


async def test_a_late_firing_copy_after_the_resolve_is_counted_and_never_refires(
    harness: Harness,
) -> None:
    s = T0
    await deliver(
        harness,
        copy(FIRING, s, T0),  # peer A
        copy(RESOLVED, s, T0 + timedelta(seconds=30)),  # peer A
        copy(FIRING, s, T0 + timedelta(seconds=31)),  # peer B, late
    )
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    [known] = incident.alerts.values()
    assert known.status is RESOLVED
    assert late_copies(harness, "firing") == 1
    assert "reopened" not in await harness.timeline(incident)

    # The condition really comes back: Prometheus gives it a new start, and it reopens.
    again = T0 + timedelta(minutes=5)
    await deliver(harness, copy(FIRING, again, again))
    incident = await harness.only_incident()
    assert (incident.state, incident.reopen_count) == (IncidentState.TRIGGERED, 1)
    assert late_copies(harness, "firing") == 1


async def test_a_late_resolve_of_an_earlier_episode_does_not_end_the_new_one(
    harness: Harness,
) -> None:
    first, second = T0, T0 + timedelta(minutes=2)
    await deliver(
        harness,
        copy(FIRING, first, first),
        copy(RESOLVED, first, first + timedelta(seconds=30)),
        copy(FIRING, second, second),
        copy(RESOLVED, first, second + timedelta(seconds=1)),  # the other peer, late
    )
    incident = await harness.only_incident()
    assert incident.is_open
    assert [a.status for a in incident.alerts.values()] == [FIRING]
    assert late_copies(harness, "resolved") == 1


async def test_an_alert_that_only_expired_fires_again_with_its_start(harness: Harness) -> None:
    # Its sender never resolved it: a copy with the same start means the sender is back.
    await harness.send(
        replace(alert(T0, ends_at=T0 + timedelta(minutes=4), **LABELS), starts_at=T0)
    )
    harness.advance(minutes=5)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).state is IncidentState.RESOLVED
    now = harness.clock.now()
    await harness.send(
        replace(alert(now, ends_at=now + timedelta(minutes=4), **LABELS), starts_at=T0)
    )
    incident = await harness.only_incident()
    assert (incident.state, incident.reopen_count) == (IncidentState.TRIGGERED, 1)
    assert late_copies(harness, "firing") == 0


async def test_a_generated_out_of_order_ha_stream_ends_each_episode_once(
    harness: Harness,
) -> None:
    # Twelve episodes, each firing for 20 s; two peers deliver every notification, each
    # with up to 45 s of jitter, so copies of one episode arrive in any order. Episodes
    # are 5 minutes apart, more than any jitter.
    rng = random.Random(9)
    deliveries: list[Alert] = []
    episodes = 12
    for k in range(episodes):
        start = T0 + timedelta(minutes=5 * k)
        for _peer in range(2):
            for status, at in ((FIRING, start), (RESOLVED, start + timedelta(seconds=20))):
                jitter = timedelta(seconds=rng.uniform(0, 45))
                deliveries.append(replace(copy(status, start, at + jitter), starts_at=start))
    deliveries.sort(key=lambda a: a.received_at)
    await deliver(harness, *deliveries)
    # Flapping by now (an episode every 5 minutes): it resolves after a quiet hold-down.
    harness.advance(minutes=10)
    await harness.correlator.sweep()

    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    timeline = await harness.timeline(incident)
    # Each episode after the first reopens at most once; a late copy never re-fires.
    assert timeline.count("reopened") <= episodes - 1
    assert timeline.count("alert_firing") <= episodes - 1
    assert late_copies(harness, "firing") + late_copies(harness, "resolved") > 0
