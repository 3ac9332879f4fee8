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


DST_RULES = """\
maintenance_windows:
  - name: nightly
    matchers: ['service="db"']
    time_zone: Europe/Berlin
    cron: "30 2 * * *"
    duration: 90m
  - name: yearly
    matchers: ['service="archive"']
    time_zone: UTC
    cron: "0 0 1 1 *"
    duration: 300d
"""


@pytest.mark.parametrize(
    ("at", "active"),
    [
        # Clocks go back at 03:00 CEST on 2026-10-25; 02:30 happens twice. The first
        # 02:30 (CEST, 00:30 UTC) opens the window...
        (datetime(2026, 10, 25, 0, 29, tzinfo=UTC), False),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True),
        # ... the second (CET, 01:30 UTC) starts it again, so it stays open until 04:00
        # on the wall clock, as an operator reading "02:30 for 90 minutes" expects.
        (datetime(2026, 10, 25, 1, 45, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 2, 59, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 3, 0, tzinfo=UTC), False),
        # Clocks jump from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist, so the
        # window starts when the clocks jump (03:00 CEST, 01:00 UTC), as cron runs it.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 2, 29, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 2, 30, tzinfo=UTC), False),
        # An ordinary summer night: 02:30 CEST is 00:30 UTC.
        (datetime(2026, 7, 1, 0, 30, tzinfo=UTC), True),
        (datetime(2026, 7, 1, 2, 0, tzinfo=UTC), False),
    ],
)
def test_cron_window_follows_dst_in_its_zone(tmp_path: Path, at: datetime, active: bool) -> None:
    rules = load_text(tmp_path, DST_RULES)
    assert bool(rules.maintenance_for({"service": "db"}, at)) is active


@pytest.mark.parametrize(
    ("at", "active"),
    [
        # 273 days into a 300-day window: the hand-written check stepped back through
        # every minute of the duration (393,120 steps); croniter's get_prev takes one.
        (datetime(2026, 10, 1, tzinfo=UTC), True),
        (datetime(2026, 10, 28, tzinfo=UTC), False),
    ],
)
def test_a_long_cron_window_is_decided_from_its_last_start(
    tmp_path: Path, at: datetime, active: bool
) -> None:
    [_, yearly] = load_text(tmp_path, DST_RULES).maintenance_windows
    assert yearly.active_at(at) is active
    assert yearly.last_start(at) == datetime(2026, 1, 1, tzinfo=UTC)


def test_the_next_change_of_a_cron_window_is_its_end_or_its_next_start(tmp_path: Path) -> None:
    [nightly, _] = load_text(tmp_path, DST_RULES).maintenance_windows
    # Open since 00:30 UTC on 1 July: it next changes when it closes, 90 minutes later.
    assert nightly.next_change(datetime(2026, 7, 1, 1, 0, tzinfo=UTC)) == datetime(
        2026, 7, 1, 2, 0, tzinfo=UTC
    )
    # Closed: it next changes when it opens the next night.
    assert nightly.next_change(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(
        2026, 7, 2, 0, 30, tzinfo=UTC
    )


ONE_OFF = """\
maintenance_windows:
  - name: christmas-migration
    matchers: ['service="shop"']
    from: 2026-12-24T22:00:00Z
    to: 2026-12-25T02:00:00Z
    comment: moving the shop database
  - name: local-time
    matchers: ['service="search"']
    time_zone: Europe/Berlin
    from: "2026-12-28T09:00"
    to: "2026-12-28T10:00"
"""


@pytest.mark.parametrize(
    ("labels", "at", "active"),
    [
        # Just before the instant it starts.
        ({"service": "shop"}, datetime(2026, 12, 24, 21, 59, 59, tzinfo=UTC), False),
        # From the instant it starts...
        ({"service": "shop"}, datetime(2026, 12, 24, 22, 0, tzinfo=UTC), True),
        # ... until just before the instant it ends.
        ({"service": "shop"}, datetime(2026, 12, 25, 1, 59, 59, tzinfo=UTC), True),
        ({"service": "shop"}, datetime(2026, 12, 25, 2, 0, tzinfo=UTC), False),
        # Never again: it does not recur next year.
        ({"service": "shop"}, datetime(2027, 12, 24, 23, 0, tzinfo=UTC), False),
        # Without an offset, times are the wall clock of time_zone: 09:00 CET is 08:00 UTC.
        ({"service": "search"}, datetime(2026, 12, 28, 7, 59, tzinfo=UTC), False),
        ({"service": "search"}, datetime(2026, 12, 28, 8, 0, tzinfo=UTC), True),
        ({"service": "search"}, datetime(2026, 12, 28, 9, 0, tzinfo=UTC), False),
    ],
)
def test_one_off_window_is_open_from_one_instant_to_another(
    tmp_path: Path, labels: dict[str, str], at: datetime, active: bool
) -> None:
    rules = load_text(tmp_path, ONE_OFF)
    assert bool(rules.maintenance_for(labels, at)) is active


def test_a_one_off_window_describes_and_announces_its_changes(tmp_path: Path) -> None:
    [window, _] = load_text(tmp_path, ONE_OFF).maintenance_windows
    assert window.describe() == "from 2026-12-24T22:00:00+00:00 to 2026-12-25T02:00:00+00:00"
    before = datetime(2026, 12, 1, tzinfo=UTC)
    assert window.next_change(before) == datetime(2026, 12, 24, 22, 0, tzinfo=UTC)
    assert window.next_change(datetime(2026, 12, 25, tzinfo=UTC)) == datetime(
        2026, 12, 25, 2, 0, tzinfo=UTC
    )
    assert window.next_change(datetime(2026, 12, 26, tzinfo=UTC)) is None
