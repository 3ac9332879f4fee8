"""New-user report items 2 and 10 in the correlator: what a resolve keeps of its alert.

As Alertmanager merges a resolve, a resolve never moves the start of the firing alert
later, and one without annotations keeps the alert's; the sender's ``dedup_key`` is
kept on the alert, and an alert document written before it was kept reads as None.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import orjson

from core.codec import decode_alert, encode_alert
from core.model import Alert, AlertStatus
from tests.correlate.harness import T0, Harness, alert

RESOLVED = AlertStatus.RESOLVED


def latency(at: datetime, status: AlertStatus = AlertStatus.FIRING) -> Alert:
    """The alert of these tests, as received at ``at``."""
    return alert(at, status, alertname="Latency", service="api")


async def test_a_resolve_with_a_later_start_keeps_the_firing_start(harness: Harness) -> None:
    await harness.send(latency(T0))
    harness.advance(minutes=3)
    now = harness.clock.now()
    later = replace(latency(now, RESOLVED), starts_at=T0 + timedelta(minutes=1))
    await harness.send(later)
    [entry] = (await harness.only_incident()).alerts.values()
    assert (entry.status, entry.starts_at, entry.ends_at) == (RESOLVED, T0, now)


async def test_a_resolve_without_annotations_keeps_the_alert_s(harness: Harness) -> None:
    await harness.send(latency(T0))
    harness.advance(minutes=3)
    await harness.send(replace(latency(harness.clock.now(), RESOLVED), annotations={}))
    [entry] = (await harness.only_incident()).alerts.values()
    assert dict(entry.annotations) == {"summary": "s"}
    # A repeat of it (another HA peer's copy) keeps them too.
    harness.advance(seconds=10)
    await harness.send(replace(latency(harness.clock.now(), RESOLVED), annotations={}))
    [entry] = (await harness.only_incident()).alerts.values()
    assert (dict(entry.annotations), entry.starts_at, entry.count) == ({"summary": "s"}, T0, 3)


async def test_a_new_episode_resolved_with_its_own_start_keeps_that_start(
    harness: Harness,
) -> None:
    await harness.send(latency(T0))
    harness.advance(minutes=1)
    await harness.send(latency(harness.clock.now(), RESOLVED))
    harness.advance(minutes=5)
    # Its firing was never received: the resolve of an episode that began at +4m.
    episode = T0 + timedelta(minutes=4)
    await harness.send(replace(latency(harness.clock.now(), RESOLVED), starts_at=episode))
    [entry] = (await harness.only_incident()).alerts.values()
    assert entry.starts_at == episode


async def test_the_dedup_key_is_kept_on_the_alert(harness: Harness) -> None:
    await harness.send(replace(latency(T0), dedup_key="latency-api"))
    harness.advance(minutes=1)
    await harness.send(latency(harness.clock.now(), RESOLVED))  # without it
    [entry] = (await harness.only_incident()).alerts.values()
    assert entry.dedup_key == "latency-api"
    # Stored and read back; a document written before the key was kept reads as None.
    assert decode_alert(encode_alert(entry)).dedup_key == "latency-api"
    old = orjson.loads(encode_alert(entry))
    del old["dedup_key"]
    assert decode_alert(orjson.dumps(old)).dedup_key is None
