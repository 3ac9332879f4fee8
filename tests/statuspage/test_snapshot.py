"""build_snapshot: what the site renders, read from either store after the writer ran."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from core.clock import ManualClock
from core.incident import IncidentState
from core.store import Store
from rules.model import Rules
from statuspage.model import ComponentStatus, Indicator, MaintenanceStatus
from statuspage.snapshot import build_snapshot
from tests.statuspage.harness import change, drain, opened, writer

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def test_an_empty_page_is_operational_with_components_in_rules_order(
    store: Store, rules: Rules
) -> None:
    snapshot = await build_snapshot(store, rules, T)
    assert [c.id for c in snapshot.components] == ["website", "search", "checkout", "card-payments"]
    assert [c.position for c in snapshot.components] == [1, 2, 3, 4]
    assert [(g.id, g.component_ids) for g in snapshot.groups] == [
        ("payments", ("checkout", "card-payments"))
    ]
    assert {c.status for c in snapshot.components} == {ComponentStatus.OPERATIONAL}
    assert snapshot.indicator is Indicator.NONE
    assert snapshot.description == "All Systems Operational"
    assert snapshot.page.time_zone.key == "Europe/Berlin"
    # Website starts on the rules' date; the others on the day the page first saw them.
    assert snapshot.components[0].start_date == date(2026, 1, 1)
    assert all(len(h.days) == 90 for h in snapshot.histories)


async def test_the_snapshot_shows_open_incidents_statuses_and_downtime(
    store: Store, rules: Rules
) -> None:
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)  # the page first sees its components at T
    first = await opened(store, 1, T + MIN)  # P1 on checkout: major outage
    await opened(store, 2, T + 2 * MIN, priority="P3", components=("search",))
    clock.set(T + 3 * MIN)
    await drain(status)
    clock.set(T + 61 * MIN)
    await change(store, first, "resolved", T + 61 * MIN, IncidentState.RESOLVED)
    await drain(status)
    snapshot = await build_snapshot(store, rules, T + 121 * MIN)
    statuses = {c.id: c.status for c in snapshot.components}
    assert statuses == {
        "website": ComponentStatus.OPERATIONAL,
        "search": ComponentStatus.DEGRADED_PERFORMANCE,
        "checkout": ComponentStatus.OPERATIONAL,
        "card-payments": ComponentStatus.OPERATIONAL,
    }
    assert snapshot.indicator is Indicator.MINOR
    assert snapshot.description == "Minor Service Outage"
    # Newest first: the search incident, then the resolved checkout one.
    assert [i.is_open for i in snapshot.incidents] == [True, False]
    checkout = next(h for h in snapshot.histories if h.component_id == "checkout")
    today = checkout.days[-1]
    assert today.downtime_seconds == {ComponentStatus.MAJOR_OUTAGE: 3600}
    assert today.incident_ids == (snapshot.incidents[1].id,)
    # Observed from when the page first saw it (T) to now, 121 minutes, 60 of them down
    # (the hours before T were not watched: no data, not up).
    assert today.uptime is not None
    assert abs(today.uptime - (1 - 60 / 121)) < 1e-9
    search = next(h for h in snapshot.histories if h.component_id == "search")
    assert search.days[-1].downtime_seconds == {ComponentStatus.DEGRADED_PERFORMANCE: 119 * 60}
    assert search.uptime_90d == 1.0


async def test_a_maintenance_window_shows_at_once_and_in_the_maintenances(
    store: Store, rules: Rules
) -> None:
    # The rules' db-patching window on checkout: 2026-03-10 02:00-04:00 UTC.
    during = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    snapshot = await build_snapshot(store, rules, during)
    checkout = next(c for c in snapshot.components if c.id == "checkout")
    assert checkout.status is ComponentStatus.UNDER_MAINTENANCE
    assert snapshot.description == "Service Under Maintenance"
    (maintenance,) = snapshot.maintenances
    assert maintenance.status is MaintenanceStatus.IN_PROGRESS
    assert maintenance.component_ids == ("checkout",)


async def test_nothing_internal_is_in_the_snapshot(store: Store, rules: Rules) -> None:
    hostile = '<script>alert(1)</script>"onmouseover=x db-7.internal'
    await opened(store, 1, T, title=hostile)
    clock = ManualClock(T + MIN)
    await drain(writer(store, rules, clock))
    snapshot = await build_snapshot(store, rules, T + MIN)
    text = repr(snapshot)
    # The internal title, id, labels and annotations of the builders' incident.
    for secret in ("db-7.internal", "<script>", "inc-0001", "web-1", "HighLatency", "Übertragung"):
        assert secret not in text
    assert snapshot.incidents[0].name == "Problems with Checkout"


async def test_days_before_the_page_recorded_a_component_have_no_data(
    store: Store, rules: Rules
) -> None:
    # Website starts on 1 January by the rules, but the page first watched it at T (12
    # March, 10:00 in Berlin): the days between were 100% before, with nothing recorded.
    clock = ManualClock(T)
    await drain(writer(store, rules, clock))
    snapshot = await build_snapshot(store, rules, T + timedelta(days=2))
    website = snapshot.histories[0]
    assert website.component_id == "website"
    by_day = {d.day: d.uptime for d in website.days}
    assert by_day[date(2026, 3, 11)] is None
    assert by_day[date(2026, 1, 5)] is None
    assert by_day[date(2026, 3, 12)] == 1.0  # watched from 10:00: the rest of the day
    assert by_day[date(2026, 3, 13)] == 1.0


async def test_one_p1_component_is_critical_on_the_banner_as_in_status_json(
    store: Store, rules: Rules
) -> None:
    # Before, the banner said "Partial System Outage" while status.json's indicator was
    # critical (the incident's impact): the description now follows the indicator.
    clock = ManualClock(T)
    status = writer(store, rules, clock)
    await drain(status)
    await opened(store, 1, T + MIN)  # P1 on checkout, one of four components
    clock.set(T + 2 * MIN)
    await drain(status)
    snapshot = await build_snapshot(store, rules, clock.now())
    assert snapshot.indicator is Indicator.CRITICAL
    assert snapshot.description == "Major Service Outage"
