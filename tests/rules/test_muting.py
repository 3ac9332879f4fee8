"""Silences, maintenance windows (weekly and cron, in their zone) and inhibition."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.model import Rules
from tests.rules.helpers import load_text

RULES = """\
silences:
  - name: s
    matchers: ['job="node"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2026-01-02T00:00:00+01:00
    comment: upgrade
maintenance_windows:
  - name: nightly
    matchers: ['service="db"']
    time_zone: Europe/Berlin
    weekly: [{days: [mon-fri], from: "22:00", to: "02:00"}]
  - name: monthly
    matchers: ['service="search"']
    time_zone: America/New_York
    cron: "30 1 1 * *"
    duration: 90m
inhibit_rules:
  - source_matchers: ['alertname="ClusterDown"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"critical|warning"']
"""

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return load_text(tmp_path, RULES)


@pytest.mark.parametrize(
    ("at", "active"),
    [
        # Before the start.
        (datetime(2025, 12, 31, 23, 59, tzinfo=UTC), False),
        # At the start: active.
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), True),
        # The end (+01:00) is 23:00 UTC: just before, active.
        (datetime(2026, 1, 1, 22, 59, tzinfo=UTC), True),
        # At the end: over.
        (datetime(2026, 1, 1, 23, 0, tzinfo=UTC), False),
    ],
)
def test_silence_is_active_from_start_until_end(rules: Rules, at: datetime, active: bool) -> None:
    labels = {"job": "node", "instance": "a"}
    assert bool(rules.silences_for(labels, at)) is active


@pytest.mark.parametrize(
    ("local", "active"),
    [
        # Monday 22:30 Berlin: inside.
        (datetime(2026, 3, 2, 22, 30), True),
        # Tuesday 01:59: still inside Monday's window, which runs past midnight.
        (datetime(2026, 3, 3, 1, 59), True),
        # Tuesday 02:00: over.
        (datetime(2026, 3, 3, 2, 0), False),
        # Saturday 01:00: Friday's window runs into Saturday morning.
        (datetime(2026, 3, 7, 1, 0), True),
        # Saturday 23:00: no window starts on Saturday.
        (datetime(2026, 3, 7, 23, 0), False),
        # Monday 01:00 after a Sunday with no window.
        (datetime(2026, 3, 9, 1, 0), False),
        # Summer time: still 22:30 local, an hour earlier in UTC.
        (datetime(2026, 7, 6, 22, 30), True),
    ],
)
def test_weekly_window_follows_the_wall_clock_of_its_zone(
    rules: Rules, local: datetime, active: bool
) -> None:
    at = local.replace(tzinfo=BERLIN).astimezone(UTC)
    assert bool(rules.maintenance_for({"service": "db"}, at)) is active


@pytest.mark.parametrize(
    ("local", "active"),
    [
        # The first of the month at 01:30 New York time: it starts.
        (datetime(2026, 2, 1, 1, 30), True),
        # 89 minutes in: still open.
        (datetime(2026, 2, 1, 2, 59), True),
        # 90 minutes in: closed.
        (datetime(2026, 2, 1, 3, 0), False),
        # One minute before it starts.
        (datetime(2026, 2, 1, 1, 29), False),
        # Not on the second of the month.
        (datetime(2026, 2, 2, 1, 45), False),
    ],
)
def test_cron_window_is_open_for_its_duration(rules: Rules, local: datetime, active: bool) -> None:
    at = local.replace(tzinfo=NEW_YORK).astimezone(UTC)
    assert bool(rules.maintenance_for({"service": "search"}, at)) is active


def test_windows_only_cover_matching_labels(rules: Rules) -> None:
    at = datetime(2026, 3, 2, 22, 30, tzinfo=BERLIN)
    assert rules.maintenance_for({"service": "web"}, at) == ()


CLUSTER_DOWN = {"alertname": "ClusterDown", "cluster": "eu1", "severity": "critical"}
INHIBIT = [
    # A warning in the same cluster is muted by ClusterDown.
    (0, CLUSTER_DOWN, {"alertname": "PodCrash", "cluster": "eu1", "severity": "warning"}, True),
    # A warning in another cluster is not.
    (0, CLUSTER_DOWN, {"alertname": "PodCrash", "cluster": "us1", "severity": "warning"}, False),
    # Equal labels absent on both sides are equal (both empty).
    (0, {"alertname": "ClusterDown"}, {"alertname": "PodCrash", "severity": "warning"}, True),
    # A target that does not match the target matchers is not muted.
    (0, CLUSTER_DOWN, {"alertname": "PodCrash", "cluster": "eu1", "severity": "info"}, False),
    # Two alerts matching both sides of a rule cannot mute each other.
    (1, {"severity": "critical", "a": "1"}, {"severity": "critical", "a": "2"}, False),
    # A critical alert mutes a warning, which matches only the target side.
    (1, {"severity": "critical"}, {"severity": "warning"}, True),
]


@pytest.mark.parametrize(("index", "source", "target", "muted"), INHIBIT)
def test_inhibition_follows_alertmanager(
    rules: Rules, index: int, source: dict[str, str], target: dict[str, str], muted: bool
) -> None:
    assert rules.inhibit_rules[index].inhibits(source, target) is muted
