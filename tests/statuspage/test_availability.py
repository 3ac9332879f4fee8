"""Uptime and daily buckets from recorded stretches, in the page's time zone (no store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from statuspage.availability import IncidentSpan, day_bounds, history
from statuspage.model import ComponentStatus
from statuspage.records import Stretch

BERLIN = ZoneInfo("Europe/Berlin")
MAJOR = ComponentStatus.MAJOR_OUTAGE
PARTIAL = ComponentStatus.PARTIAL_OUTAGE
DEGRADED = ComponentStatus.DEGRADED_PERFORMANCE
MAINTENANCE = ComponentStatus.UNDER_MAINTENANCE
H = timedelta(hours=1)


def at(day: date, hour: int, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        # An ordinary day in Berlin.
        (date(2026, 3, 12), 24),
        # Clocks go forward at 02:00: the day has 23 hours.
        (date(2026, 3, 29), 23),
        # Clocks go back at 03:00: the day has 25 hours.
        (date(2026, 10, 25), 25),
    ],
)
def test_a_local_day_lasts_23_24_or_25_hours(day: date, hours: int) -> None:
    start, end = day_bounds(day, BERLIN)
    assert end - start == hours * H


DAY = date(2026, 3, 12)
DST = date(2026, 3, 29)


@pytest.mark.parametrize(
    ("day", "stretches", "uptime", "downtime"),
    [
        # Nothing recorded: fully up.
        (DAY, [], 1.0, {}),
        # Six hours of major outage: a quarter of the day down.
        (DAY, [(at(DAY, 6), at(DAY, 12), MAJOR)], 0.75, {MAJOR: 6 * 3600}),
        # Ten hours of partial outage count 30%: 3 of 24 hours.
        (DAY, [(at(DAY, 0), at(DAY, 10), PARTIAL)], 1 - 3 / 24, {PARTIAL: 36000}),
        # Degraded performance and maintenance count as up, but are reported.
        (
            DAY,
            [(at(DAY, 1), at(DAY, 3), DEGRADED), (at(DAY, 4), at(DAY, 5), MAINTENANCE)],
            1.0,
            {DEGRADED: 7200, MAINTENANCE: 3600},
        ),
        # On the 23-hour DST day, 23 hours of major outage is the whole day.
        (DST, [(at(DST, 0), at(DST, 0) + 23 * H, MAJOR)], 0.0, {MAJOR: 23 * 3600}),
        # On the DST day, 2.3 hours down is 10% of 23 hours.
        (DST, [(at(DST, 5), at(DST, 5) + 2.3 * H, MAJOR)], 0.9, {MAJOR: 2.3 * 3600}),
    ],
)
def test_a_days_uptime_weighs_major_and_partial_outages(
    day: date, stretches: list[Stretch], uptime: float, downtime: dict[ComponentStatus, float]
) -> None:
    now = at(day + timedelta(days=2), 0)
    found = history("api", stretches, start_date=date(2025, 1, 1), zone=BERLIN, now=now)
    (bucket,) = [d for d in found.days if d.day == day]
    assert bucket.uptime == pytest.approx(uptime)
    assert bucket.downtime_seconds == pytest.approx(downtime)


def test_a_stretch_over_midnight_counts_on_both_local_days() -> None:
    # 22:00 to 02:00 Berlin time: two hours on each day.
    stretch = (at(DAY, 22), at(DAY + timedelta(days=1), 2), MAJOR)
    now = at(DAY + timedelta(days=3), 0)
    found = history("api", [stretch], start_date=date(2025, 1, 1), zone=BERLIN, now=now)
    by_day = {d.day: d for d in found.days}
    assert by_day[DAY].downtime_seconds == {MAJOR: 7200}
    assert by_day[DAY + timedelta(days=1)].downtime_seconds == {MAJOR: 7200}
    assert by_day[DAY].uptime == pytest.approx(22 / 24)


def test_ninety_days_oldest_first_with_no_data_before_the_start_date() -> None:
    now = at(DAY, 12)
    start = DAY - timedelta(days=10)
    found = history("api", [], start_date=start, zone=BERLIN, now=now)
    assert len(found.days) == 90
    assert found.days[0].day == DAY - timedelta(days=89)
    assert found.days[-1].day == DAY
    assert all(d.uptime is None for d in found.days if d.day < start)
    assert all(d.uptime == 1.0 for d in found.days if d.day >= start)


def test_uptime_of_30_and_90_days_counts_only_observed_time() -> None:
    # Started 40 days ago; 12 hours of major outage 35 days ago (outside 30 days), and
    # 6 hours 5 days ago.
    now = at(DAY, 0)
    far, near = DAY - timedelta(days=35), DAY - timedelta(days=5)
    stretches = [(at(far, 0), at(far, 12), MAJOR), (at(near, 0), at(near, 6), MAJOR)]
    found = history("api", stretches, start_date=DAY - timedelta(days=40), zone=BERLIN, now=now)
    observed_30 = (now - at(DAY - timedelta(days=29), 0)).total_seconds()
    observed_90 = (now - at(DAY - timedelta(days=40), 0)).total_seconds()
    assert found.uptime_30d == pytest.approx(1 - 6 * 3600 / observed_30)
    assert found.uptime_90d == pytest.approx(1 - 18 * 3600 / observed_90)


def test_a_component_that_starts_in_the_future_has_no_uptime() -> None:
    found = history("api", [], start_date=DAY + timedelta(days=1), zone=BERLIN, now=at(DAY, 12))
    assert found.uptime_30d is None
    assert found.uptime_90d is None


def test_each_day_names_the_incidents_open_on_it() -> None:
    now = at(DAY, 12)
    spans = [
        IncidentSpan(
            "a", frozenset({"api"}), at(DAY - timedelta(days=2), 23), at(DAY - timedelta(days=1), 1)
        ),
        IncidentSpan("b", frozenset({"api"}), at(DAY, 9), None),
        IncidentSpan("c", frozenset({"web"}), at(DAY, 9), None),
    ]
    found = history("api", [], start_date=date(2025, 1, 1), zone=BERLIN, now=now, incidents=spans)
    by_day = {d.day: d.incident_ids for d in found.days}
    assert by_day[DAY - timedelta(days=2)] == ("a",)
    assert by_day[DAY - timedelta(days=1)] == ("a",)
    assert by_day[DAY] == ("b",)
