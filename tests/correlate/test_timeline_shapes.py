"""New-user report items 7 and 8: the timeline reads the way the rules and the API do.

``categorised`` names impact and urgency as the rules name them; ``muted`` and
``unmuted`` have one shape whether a step or the sweep wrote them; ``policy_from`` reads
naturally; durations in reasons are in the rules' syntax (``10m``, not ``0:10:00``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from core.incident import IncidentEvent
from core.model import AlertStatus
from core.silence import LabelMatcher, Silence
from rules.correlation import Tuning
from rules.durations import format_duration
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules

LATER = T0 + timedelta(days=30)
RESOLVED = AlertStatus.RESOLVED


async def _events(harness: Harness, kind: str) -> list[IncidentEvent]:
    incident = await harness.only_incident()
    return [e for e in await harness.store.incident_events(incident.id) if e.kind == kind]


def _silence(instance: str, hours: float = 1) -> Silence:
    return Silence(
        f"s-{instance}",
        (LabelMatcher("instance", "=", instance),),
        T0,
        T0 + timedelta(hours=hours),
        "ana",
        "disk swap",
        T0,
    )


async def test_categorised_names_impact_and_urgency_as_the_rules_do(harness: Harness) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    [categorised] = await _events(harness, "categorised")
    # The db category: impact high, urgency medium (as the incident API shows them).
    assert (categorised.detail["impact"], categorised.detail["urgency"]) == ("high", "medium")
    assert categorised.detail["priority"] == "P2"


async def test_policy_from_the_root_route_reads_naturally(harness: Harness) -> None:
    # No route below the root, no service or team policy: the root's is the default.
    await harness.send(alert(T0, alertname="Latency", service="web"))
    [categorised] = await _events(harness, "categorised")
    assert categorised.detail["policy_from"] == "the root route's default"


async def test_unmuted_has_one_shape_from_a_step_and_from_the_sweep(harness: Harness) -> None:
    await harness.store.save_silence(_silence("db1"))
    await harness.store.save_silence(_silence("db2", hours=2))
    db1 = alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db1")
    db2 = alert(T0, ends_at=LATER, alertname="DiskFull", service="db", instance="db2")
    await harness.send(db1, db2)
    harness.advance(hours=1)
    await harness.send(db1)  # a step sees db1's silence ended
    harness.advance(hours=1)
    await harness.correlator.sweep()  # the sweep sees db2's silence ended
    by_step, by_sweep = await _events(harness, "unmuted")
    assert by_step.detail == {
        "reason": "no longer in force: silence s-db1 by ana: disk swap",
        "fingerprints": [db1.fingerprint],
        "count": 1,
    }
    assert set(by_sweep.detail) == set(by_step.detail)
    assert by_sweep.detail["fingerprints"] == [db2.fingerprint]


async def test_a_flap_reason_gives_the_window_in_the_rules_syntax(
    harness_with: Callable[..., Harness],
) -> None:
    harness = harness_with(
        Tuning(resolve_delay=timedelta(0), flap_changes=2, flap_window=timedelta(minutes=10))
    )
    await harness.send(alert(T0, alertname="Flappy", service="api"))
    for minute in (1, 2):
        harness.advance(minutes=1)
        status = RESOLVED if minute == 1 else AlertStatus.FIRING
        await harness.send(alert(harness.clock.now(), status, alertname="Flappy", service="api"))
    [flapping] = await _events(harness, "flapping")
    assert flapping.detail["reason"] == "2 state changes within 10m"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(microseconds=500), "0s"),  # below the syntax's smallest unit
        (timedelta(0), "0s"),
    ],
)
def test_durations_are_written_in_the_rules_syntax(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


def test_a_cron_window_mute_reason_gives_its_duration_in_the_rules_syntax(tmp_path: Path) -> None:
    cron_window = """
  - name: monthly
    matchers: ['service="search"']
    time_zone: UTC
    cron: "30 1 1 * *"
    duration: 90m
"""
    rules = load_test_rules(
        tmp_path, RULES.replace("maintenance_windows:\n", "maintenance_windows:" + cron_window)
    )
    [window] = [w for w in rules.maintenance_windows if w.name == "monthly"]
    assert window.describe() == "cron '30 1 1 * *' for 1h30m (UTC)"
