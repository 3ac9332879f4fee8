"""Lag never causes an expiry or a flap flag (issue 9 item 10): time is the log's own.

A backlog is built on the injected clock while the correlator does not run, then
drained later as ``Correlator.run`` would (a step, a sweep, a step, ...), in small steps
so that it stays behind for a while.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.incident import IncidentState
from core.model import AlertStatus
from core.store.sqlite import SQLiteStore
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert, load_test_rules, make_harness

HOSTS = [f"web{n}" for n in range(10)]


def behind(store: SQLiteStore, tmp_path: Path, tuning: Tuning) -> Harness:
    # Steps of 5 entries: a backlog of dozens takes many steps, each followed by a sweep.
    return make_harness(store, load_test_rules(tmp_path), tuning, batch_size=5)


async def log(harness: Harness, *alerts: object) -> None:
    """Appends to the log as ingest would, without correlating."""
    await harness.store.append(list(alerts))  # type: ignore[arg-type]


async def catch_up(harness: Harness) -> None:
    """Correlates the backlog as Correlator.run does: a step, then a sweep, and again."""
    while await harness.correlator.step():
        await harness.correlator.sweep()
    await harness.correlator.sweep()


async def test_a_correlator_behind_never_expires_alerts_refreshed_in_the_unread_log(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = behind(sqlite_store, tmp_path, Tuning(resolve_delay=timedelta(0)))
    # Ten steady alerts, each logged every 3 minutes with an end 4 minutes ahead (the
    # duplicate filter's refresh of a Prometheus alert), for 30 minutes.
    for minute in range(0, 31, 3):
        now = T0 + timedelta(minutes=minute)
        harness.clock.set(now)
        await log(
            harness,
            *(
                alert(
                    now,
                    ends_at=now + timedelta(minutes=4),
                    alertname="Up",
                    service="web",
                    instance=h,
                )
                for h in HOSTS
            ),
        )
    # The correlator comes to it 30 s after the last entry was logged, 30 minutes behind.
    harness.advance(seconds=30)
    await catch_up(harness)
    incident = await harness.only_incident()
    assert incident.state is IncidentState.TRIGGERED
    timeline = await harness.timeline(incident)
    assert "alert_expired" not in timeline
    assert "flapping" not in timeline
    assert not incident.flapping
    assert all(a.status is AlertStatus.FIRING for a in incident.alerts.values())


async def test_changes_spread_over_the_log_are_not_a_flap_when_drained_at_once(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = behind(
        sqlite_store,
        tmp_path,
        Tuning(resolve_delay=timedelta(0), flap_changes=4, flap_window=timedelta(minutes=10)),
    )
    # Fires and resolves every 4 minutes: never 4 changes within 10 minutes.
    for n in range(8):
        now = T0 + timedelta(minutes=4 * n)
        harness.clock.set(now)
        status = AlertStatus.FIRING if n % 2 == 0 else AlertStatus.RESOLVED
        await log(harness, alert(now, status, alertname="Batch", service="web"))
    harness.advance(minutes=1)
    await catch_up(harness)
    incident = (await harness.incidents())[-1]
    assert not incident.flapping
    assert "flapping" not in await harness.timeline(incident)


async def test_a_resolve_delay_is_not_cut_short_by_lag(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = behind(sqlite_store, tmp_path, Tuning(resolve_delay=timedelta(minutes=1)))
    harness.clock.set(T0)
    await log(harness, alert(T0, alertname="Blip", service="web"))
    resolve_at = T0 + timedelta(seconds=10)
    harness.clock.set(resolve_at)
    await log(harness, alert(resolve_at, AlertStatus.RESOLVED, alertname="Blip", service="web"))
    # Fires again 40 s later (within the delay), in a part of the log not read yet.
    filler_at = resolve_at + timedelta(seconds=20)
    harness.clock.set(filler_at)
    await log(
        harness,
        *(alert(filler_at, alertname="Noise", service="web", instance=h) for h in HOSTS),
    )
    again = resolve_at + timedelta(seconds=40)
    harness.clock.set(again)
    await log(harness, alert(again, alertname="Blip", service="web"))
    # The correlator gets to it 5 minutes late.
    harness.advance(minutes=5)
    await catch_up(harness)
    blip = next(i for i in await harness.incidents() if "Blip" in i.group_key)
    assert blip.state is IncidentState.TRIGGERED
    timeline = await harness.timeline(blip)
    assert "resolved" not in timeline
    assert "reopened" not in timeline
