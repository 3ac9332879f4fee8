"""Mute state follows its cause within one sweep, both ways, with the reason on the timeline.

Issue 9, item 1: an incident muted by a silence, a maintenance window or an inhibiting
alert stayed muted after the cause ended until its alerts were sent again (hours, with
Alertmanager's ``repeat_interval``), and a new silence never muted alerts already firing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.incident import Incident, IncidentEvent
from core.model import AlertStatus
from core.silence import LabelMatcher, Silence
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules, make_harness

RESOLVED = AlertStatus.RESOLVED


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def harness(
    request: pytest.FixtureRequest, sqlite_store: SQLiteStore, tmp_path: Path
) -> AsyncIterator[Harness]:
    """The correlator harness on SQLite, and on a real redis-server."""
    if request.param == "sqlite":
        yield make_harness(sqlite_store, load_test_rules(tmp_path))
        return
    store = RedisStore(request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield make_harness(store, load_test_rules(tmp_path))
    finally:
        await store.close()


# Far enough that no alert of these tests expires.
LATER = T0 + timedelta(days=30)


def _silence(sid: str, value: str, starts: Any = T0, hours: float = 1) -> Silence:
    return Silence(
        sid,
        (LabelMatcher("instance", "=", value),),
        starts,
        starts + timedelta(hours=hours),
        "ana",
        "disk swap",
        T0,
    )


async def _mute_events(harness: Harness, incident: Incident) -> list[IncidentEvent]:
    events = await harness.store.incident_events(incident.id)
    return [e for e in events if e.kind in {"muted", "unmuted"}]


def _muted_by(incident: Incident) -> dict[str, str | None]:
    return {a.labels["instance"]: a.muted_by for a in incident.alerts.values()}


async def test_a_new_silence_mutes_firing_alerts_and_its_expiry_unmutes_them(
    harness: Harness,
) -> None:
    await harness.send(
        alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1"),
        alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db2"),
    )
    assert not (await harness.only_incident()).muted
    harness.advance(minutes=1)
    await harness.store.save_silence(_silence("s1", "db1", harness.clock.now()))
    await harness.correlator.sweep()  # no alert was sent again
    incident = await harness.only_incident()
    assert _muted_by(incident)["db1"] == "silence s1 by ana: disk swap"
    assert _muted_by(incident)["db2"] is None
    assert not incident.muted  # db2 still pages
    [muted] = await _mute_events(harness, incident)
    assert muted.kind == "muted"
    assert muted.detail["reason"] == "silence s1 by ana: disk swap"
    assert muted.detail["fingerprints"] == [
        a.fingerprint for a in incident.alerts.values() if a.labels["instance"] == "db1"
    ]

    # Expired by an operator (DELETE /api/v1/silences/s1 sets its end to now).
    harness.advance(minutes=1)
    now = harness.clock.now()
    silence = await harness.store.get_silence("s1")
    assert silence is not None
    await harness.store.save_silence(replace(silence, ends_at=now))
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert _muted_by(incident) == {"db1": None, "db2": None}
    events = await _mute_events(harness, incident)
    assert [e.kind for e in events] == ["muted", "unmuted"]
    assert "silence s1" in events[1].detail["reason"]
    assert events[1].at == now


async def test_a_silence_mutes_when_its_start_arrives_and_unmutes_when_it_ends(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1"))
    await harness.store.save_silence(_silence("s2", "db1", T0 + timedelta(minutes=10), hours=1))
    await harness.correlator.sweep()
    assert not (await harness.only_incident()).muted  # pending: nothing yet

    harness.advance(minutes=10)  # its start
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.muted
    assert _muted_by(incident)["db1"] == "silence s2 by ana: disk swap"

    harness.advance(hours=1)  # its end
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert not incident.muted
    assert _muted_by(incident)["db1"] is None
    assert [e.kind for e in await _mute_events(harness, incident)] == ["muted", "unmuted"]


async def test_a_maintenance_window_unmutes_when_it_closes_and_mutes_when_it_opens(
    harness: Harness,
) -> None:
    # tuesday-batch: Tuesdays 09:00-12:00 UTC; T0 is Tuesday 10:00.
    job = alert(T0, ends_at=T0 + timedelta(days=30), alertname="JobFailed", service="batch")
    await harness.send(job)
    assert (await harness.only_incident()).muted

    harness.advance(hours=2)  # 12:00: the window closes
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert not incident.muted
    [entry] = incident.alerts.values()
    assert entry.muted_by is None
    unmuted = (await _mute_events(harness, incident))[-1]
    assert unmuted.kind == "unmuted"
    assert "maintenance window tuesday-batch" in unmuted.detail["reason"]

    harness.advance(days=7, hours=-3)  # next Tuesday 09:00: it opens again
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    assert incident.muted
    reopened = (await _mute_events(harness, incident))[-1]
    assert reopened.kind == "muted"
    assert reopened.detail["reason"].startswith("maintenance window tuesday-batch")


async def test_inhibition_follows_its_source_firing_and_resolving(harness: Harness) -> None:
    pods = [
        alert(T0, ends_at=LATER, alertname="PodCrash", cluster=c, severity="warning")
        for c in ("eu1", "us1")
    ]
    await harness.send(*pods)
    source = alert(T0, ends_at=LATER, alertname="ClusterDown", cluster="eu1", severity="critical")
    await harness.send(source)  # the warnings are not sent again
    await harness.correlator.sweep()
    pod = next(i for i in await harness.incidents() if "PodCrash" in i.group_key)
    muted = {a.labels["cluster"]: a.muted_by for a in pod.alerts.values()}
    assert muted["eu1"] == f"inhibited by cluster-down (firing alert {source.fingerprint})"
    assert muted["us1"] is None
    [event] = await _mute_events(harness, pod)
    assert event.kind == "muted"
    assert source.fingerprint in event.detail["reason"]

    harness.advance(minutes=1)
    gone = alert(harness.clock.now(), RESOLVED, alertname="ClusterDown", cluster="eu1")
    await harness.send(replace(gone, labels=source.labels, fingerprint=source.fingerprint))
    await harness.correlator.sweep()
    pod = next(i for i in await harness.incidents() if "PodCrash" in i.group_key)
    assert all(a.muted_by is None for a in pod.alerts.values())
    assert not pod.muted
    events = await _mute_events(harness, pod)
    assert [e.kind for e in events] == ["muted", "unmuted"]
    assert source.fingerprint in events[1].detail["reason"]


async def test_an_expired_source_ends_its_inhibition_in_the_same_sweep(harness: Harness) -> None:
    await harness.send(
        alert(T0, ends_at=LATER, alertname="PodCrash", cluster="eu1", severity="warning")
    )
    ends = T0 + timedelta(minutes=5)
    await harness.send(
        alert(T0, ends_at=ends, alertname="ClusterDown", cluster="eu1", severity="critical")
    )
    await harness.correlator.sweep()
    pod = next(i for i in await harness.incidents() if "PodCrash" in i.group_key)
    assert pod.muted

    harness.advance(minutes=5)  # the source's end passes: the sweep expires it
    await harness.correlator.sweep()
    pod = next(i for i in await harness.incidents() if "PodCrash" in i.group_key)
    assert not pod.muted


async def test_a_sweep_with_nothing_changed_changes_nothing(harness: Harness) -> None:
    await harness.store.save_silence(_silence("s1", "db1"))
    await harness.send(alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1"))
    await harness.correlator.sweep()
    before = await harness.only_incident()
    harness.advance(seconds=5)
    assert await harness.correlator.sweep() == 0
    after = await harness.only_incident()
    assert after.version == before.version
    # Muted as it joined (the reason is in the join's record); the sweeps left it alone.
    assert await _mute_events(harness, after) == []
    [joined] = [
        e for e in await harness.store.incident_events(after.id) if e.kind == "alerts_joined"
    ]
    assert joined.detail["alerts"][0]["muted_by"] == "silence s1 by ana: disk swap"


async def test_the_running_correlator_sweeps_at_once_when_a_step_sees_a_new_mute(
    harness: Harness,
) -> None:
    # The periodic sweep is an hour away: only the change a step noticed can sweep.
    await harness.send(alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1"))
    await harness.correlator.sweep()
    stop = asyncio.Event()
    running = asyncio.create_task(
        harness.correlator.run(stop, poll_seconds=0.01, sweep_seconds=3600)
    )
    try:
        await asyncio.sleep(0)  # the first, periodic sweep
        await harness.store.save_silence(_silence("s1", "db1"))
        # Another alert makes a step, which sees the silence set changed.
        await harness.store.append(
            [alert(T0, ends_at=LATER, alertname="Other", service="web", instance="w1")]
        )
        deadline = asyncio.get_running_loop().time() + 10
        while not next(i for i in await harness.incidents() if "DiskFull" in i.group_key).muted:
            assert asyncio.get_running_loop().time() < deadline, "never muted"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_resend_after_the_silence_ended_unmutes_with_the_reason(harness: Harness) -> None:
    await harness.store.save_silence(_silence("s1", "db1", hours=1))
    db1 = alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1")
    await harness.send(db1)
    assert (await harness.only_incident()).muted
    harness.advance(hours=1)
    await harness.send(db1)  # the step sees it before any sweep
    incident = await harness.only_incident()
    assert not incident.muted
    [unmuted] = await _mute_events(harness, incident)  # it joined muted
    assert unmuted.kind == "unmuted"
    # The same shape as the sweep's unmuted events (one per incident and reason).
    assert unmuted.detail["fingerprints"] == [db1.fingerprint]
    assert unmuted.detail["count"] == 1
    assert "silence s1" in unmuted.detail["reason"]


async def test_a_mute_keeps_naming_its_source_across_a_restart(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    # Criticals of any alertname mute warnings of their cluster; the two criticals open
    # two incidents, and a restarted correlator reads the newer one's source first.
    rules = load_test_rules(
        tmp_path, RULES.replace("""['alertname="ClusterDown"']""", """['severity="critical"']""")
    )
    first = make_harness(sqlite_store, rules)
    s1 = alert(T0, ends_at=LATER, alertname="NodeDown", cluster="eu1", severity="critical")
    await first.send(s1)
    first.advance(minutes=1)
    await first.send(
        alert(T0, ends_at=LATER, alertname="NetDown", cluster="eu1", severity="critical")
    )
    pod = alert(T0, ends_at=LATER, alertname="PodCrash", cluster="eu1", severity="warning")
    await first.send(pod)
    reason = f"inhibited by cluster-down (firing alert {s1.fingerprint})"

    again = make_harness(sqlite_store, rules)
    again.clock.set(first.clock.now() + timedelta(minutes=1))
    await again.send(pod)  # a resend: still muted by the same source, nothing new
    await again.correlator.sweep()
    incident = next(i for i in await again.incidents() if "PodCrash" in i.group_key)
    assert incident.alerts[pod.fingerprint].muted_by == reason
    assert await _mute_events(again, incident) == []  # it joined muted: no change since


async def test_a_window_over_a_storm_makes_one_bounded_entry(harness: Harness) -> None:
    hosts = [
        alert(T0, ends_at=LATER, alertname="JobFailed", service="batch", instance=f"h{n}")
        for n in range(300)
    ]
    await harness.send(*hosts)
    harness.advance(hours=2)  # tuesday-batch closes over all 300
    await harness.correlator.sweep()
    incident = await harness.only_incident()
    [unmuted] = [e for e in await _mute_events(harness, incident) if e.kind == "unmuted"]
    assert unmuted.detail["count"] == 300
    assert len(unmuted.detail["fingerprints"]) == 20
    assert not incident.muted
