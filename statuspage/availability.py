"""Availability: uptime and the 90 daily buckets of a component, from recorded stretches.

Uptime counts time, as Statuspage does: a major outage is down time in full, a partial
outage 30% of its time; degraded performance and maintenance count as up. A day's
uptime is 1 - (major + 0.3 x partial) / observed, where observed is the part of the day
(in the page's time zone, so a DST day has 23 or 25 hours) from the component's start
date and not after now; a day with nothing observed has no uptime (None, "no data").
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


def history(
    component: str,
    stretches: Iterable[Stretch],
    *,
    start_date: date,
    zone: ZoneInfo,
    now: datetime,
    incidents: Sequence[IncidentSpan] = (),
    days: int = DAYS,
) -> ComponentHistory:
    """The component's last ``days`` days, oldest first, and its 30- and 90-day uptime.

    ``stretches`` are its non-operational stretches (recorded, plus the current one up
    to ``now``); overlapping ones must not be given (a component has one status at a time).
    """
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    origin = _midnight(start_date, zone)
    ordered = sorted(stretches, key=lambda s: s[0])
    # One status at a time: sorted by start, the stretches are sorted by end too, so a
    # day's stretches are a slice found by bisection.
    starts = [s[0] for s in ordered]
    ends = [s[1] for s in ordered]
    buckets: list[DayAvailability] = []
    observed: list[float] = []
    weighted: list[float] = []
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
            and seconds > 0
            and span.start < end
            and (span.end is None or span.end > begin)
        )
        buckets.append(DayAvailability(day, uptime, downtime, names))
    return ComponentHistory(
        component,
        tuple(buckets),
        _ratio(observed[-30:], weighted[-30:]),
        _ratio(observed, weighted),
    )


def _ratio(observed: Sequence[float], weighted: Sequence[float]) -> float | None:
    total = sum(observed)
    if total <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - sum(weighted) / total))
