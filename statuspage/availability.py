"""Availability: uptime and the 90 daily buckets of a component, from recorded stretches.

Uptime counts time, as Statuspage does: a major outage is down time in full, a partial
outage 30% of its time; degraded performance and maintenance count as up. A day's
uptime is 1 - (major + 0.3 x partial) / observed, where observed is the part of the day
(in the page's time zone, so a DST day has 23 or 25 hours) from the component's start
date (and since the page began recording the component) and not after now; a day with
nothing observed has no uptime (None, "no data"), never a made-up 100%.
The 30- and 90-day uptime is the same ratio over the last 30 or 90 days together.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from statuspage.model import ComponentHistory, ComponentStatus, DayAvailability
from statuspage.records import Stretch

DAYS = 90
WEIGHTS = {ComponentStatus.MAJOR_OUTAGE: 1.0, ComponentStatus.PARTIAL_OUTAGE: 0.3}


@dataclass(frozen=True, slots=True)
class IncidentSpan:
    """A public incident's time on a component: for the days' incident lists."""

    incident_id: str
    components: frozenset[str]
    start: datetime
    end: datetime | None  # None: still open


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local day starts and ends (23 or 25 hours apart on DST days)."""
    return _midnight(day, zone), _midnight(day + timedelta(days=1), zone)


@functools.lru_cache(maxsize=4096)  # every component of a page asks for the same days
def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # A midnight skipped by DST (some zones change at 00:00) reads as the instant after
    # the gap, the day's first instant.
    local = datetime(day.year, day.month, day.day, tzinfo=zone)
    instant = local.astimezone(UTC)
    back = instant.astimezone(zone)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        instant = local.replace(fold=1).astimezone(UTC)
    return instant


@dataclass(frozen=True, slots=True)
class Today:
    """What a history's last day and its 30/90-day uptime need to move on with the clock.

    Later the same day, a component that recorded nothing new (and is operational)
    only gains observed time: :func:`advance` works its history out again from this,
    without its stretches.
    """

    begin: datetime  # today's observation starts (local midnight, or later)
    end: datetime  # the next local midnight
    lost: float  # weighted downtime seconds today
    downtime: dict[ComponentStatus, float]
    incident_ids: tuple[str, ...]  # incidents on today, once anything is observed
    past: tuple[float, float, float, float]  # observed and weighted: 29 days, 89 days


def history(
    component: str,
    stretches: Iterable[Stretch],
    *,
    start_date: date,
    zone: ZoneInfo,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
    days: int = DAYS,
    recorded_from: datetime | None = None,
) -> ComponentHistory:
    """The component's last ``days`` days, oldest first, and its 30- and 90-day uptime
    (see :func:`history_today`)."""
    return history_today(
        component,
        stretches,
        start_date=start_date,
        zone=zone,
        now=now,
        incidents=incidents,
        days=days,
        recorded_from=recorded_from,
    )[0]


def history_today(
    component: str,
    stretches: Iterable[Stretch],
    *,
    start_date: date,
    zone: ZoneInfo,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
    days: int = DAYS,
    recorded_from: datetime | None = None,
) -> tuple[ComponentHistory, Today]:
    """The component's last ``days`` days, oldest first, and its 30- and 90-day uptime,
    with what :func:`advance` needs to move its last day on with the clock.

    ``stretches`` are its non-operational stretches (recorded, plus the current one up
    to ``now``); overlapping ones must not be given (a component has one status at a time).
    ``recorded_from`` is when the page began recording the component: time before it
    has no data (it was not watched), even after the start date.
    """
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    origin = _midnight(start_date, zone)
    if recorded_from is not None:
        origin = max(origin, recorded_from)
    ordered = sorted(stretches, key=lambda s: s[0])
    # One status at a time: sorted by start, the stretches are sorted by end too, so a
    # day's stretches are a slice found by bisection.
    starts = [s[0] for s in ordered]
    ends = [s[1] for s in ordered]
    buckets: list[DayAvailability] = []
    observed: list[float] = []
    weighted: list[float] = []
    names: tuple[str, ...] = ()
    begin = end = now
    for offset in range(days):
        day = first + timedelta(days=offset)
        begin, end = day_bounds(day, zone)
        begin, end = max(begin, origin), min(end, now)
        seconds = max(0.0, (end - begin).total_seconds())
        downtime: dict[ComponentStatus, float] = {}
        if seconds > 0:
            lo, hi = bisect.bisect_right(ends, begin), bisect.bisect_left(starts, end)
            for s_start, s_end, status in ordered[lo:hi]:
                overlap = (min(end, s_end) - max(begin, s_start)).total_seconds()
                if overlap > 0:
                    downtime[status] = downtime.get(status, 0.0) + overlap
        lost = sum(WEIGHTS.get(status, 0.0) * secs for status, secs in downtime.items())
        observed.append(seconds)
        weighted.append(lost)
        uptime = None if seconds <= 0 else min(1.0, max(0.0, 1.0 - lost / seconds))
        names = tuple(
            span.incident_id
            for span in incidents
            if component in span.components
            and span.start < end
            and (span.end is None or span.end > begin)
        )
        buckets.append(DayAvailability(day, uptime, downtime, names if seconds > 0 else ()))
    found = ComponentHistory(
        component,
        tuple(buckets),
        _ratio(observed[-30:], weighted[-30:]),
        _ratio(observed, weighted),
    )
    past = (sum(observed[-30:-1]), sum(weighted[-30:-1]), sum(observed[:-1]), sum(weighted[:-1]))
    _, day_end = day_bounds(today, zone)
    lost_today = weighted[-1] if weighted else 0.0
    return found, Today(begin, day_end, lost_today, buckets[-1].downtime_seconds, names, past)


def advance(found: ComponentHistory, today: Today, now: datetime) -> ComponentHistory:
    """The history at ``now`` (the same local day) of a component that recorded nothing
    since: its last day and its uptime gain the time observed meanwhile."""
    seconds = max(0.0, (min(today.end, now) - today.begin).total_seconds())
    uptime = None if seconds <= 0 else min(1.0, max(0.0, 1.0 - today.lost / seconds))
    last = found.days[-1]
    day = DayAvailability(
        last.day, uptime, today.downtime, today.incident_ids if seconds > 0 else ()
    )
    obs30, w30, obs90, w90 = today.past
    return ComponentHistory(
        found.component_id,
        (*found.days[:-1], day),
        _ratio([obs30, seconds], [w30, today.lost]),
        _ratio([obs90, seconds], [w90, today.lost]),
    )


def _ratio(observed: Sequence[float], weighted: Sequence[float]) -> float | None:
    total = sum(observed)
    if total <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - sum(weighted) / total))
