"""Time zones, weekdays and clock-time windows, read in a named IANA zone.

Local times are kept as wall-clock values with their zone, never converted to UTC in
advance, so that ``09:00-17:00 Europe/Berlin`` stays 09:00-17:00 across DST changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})", re.ASCII)
MINUTES_PER_DAY = 24 * 60


def parse_zone(name: str) -> ZoneInfo:
    """Returns the IANA time zone ``name``; raises ValueError if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from exc


def parse_weekdays(items: Iterable[str]) -> frozenset[int]:
    """Reads weekday names and ranges (``mon-fri``, ``sat``) into ISO numbers 0=Mon..6=Sun."""
    days: set[int] = set()
    for item in items:
        first, dash, last = item.strip().lower().partition("-")
        start = _weekday(first)
        end = _weekday(last) if dash else start
        # A range may wrap the week end: fri-mon is Fri, Sat, Sun, Mon.
        count = (end - start) % 7 + 1
        days.update((start + i) % 7 for i in range(count))
    return frozenset(days)


def _weekday(name: str) -> int:
    if name in WEEKDAYS:
        return WEEKDAYS.index(name)
    if name in _FULL_NAMES:
        return _FULL_NAMES.index(name)
    raise ValueError(f"{name!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")


def parse_clock(text: str, *, allow_24: bool = False) -> int:
    """Reads ``HH:MM`` into minutes after midnight; ``24:00`` only where ``allow_24``."""
    found = _CLOCK.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time of day (write HH:MM, e.g. 09:00)")
    hours, minutes = int(found.group("h")), int(found.group("m"))
    if allow_24 and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 23:59")
    return hours * 60 + minutes


def format_clock(minutes: int) -> str:
    """Writes minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """Clock times on some weekdays, e.g. Mon-Fri 09:00-17:00, in a zone given by the owner.

    ``end`` at or before ``start`` means the window runs past midnight into the next day
    (22:00-06:00 starting on each listed day); 00:00-24:00 is the whole day.
    """

    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, 1..1440

    def contains(self, local: datetime) -> bool:
        """Tells whether a wall-clock time (in the owner's zone) falls in the window."""
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        if self.start < self.end:
            return today in self.days and self.start <= minute < self.end
        yesterday = (today - 1) % 7
        return (today in self.days and minute >= self.start) or (
            yesterday in self.days and minute < self.end
        )

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{days} {format_clock(self.start)}-{format_clock(self.end)}"


def localise(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attaches ``zone`` to a wall-clock time; raises ValueError if DST makes it unclear.

    A time skipped by a DST change does not exist, and one repeated by it is ambiguous;
    both are refused with the fix (write a UTC offset) rather than guessed.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive.isoformat()} does not exist in {zone.key} (a DST gap)")
    if first.utcoffset() != second.utcoffset():
        raise ValueError(
            f"{naive.isoformat()} happens twice in {zone.key} (DST ends); write a UTC offset"
        )
    return first


def parse_instant(text: str, zone: ZoneInfo | None) -> datetime:
    """Reads an ISO 8601 date-time; without an offset it is read in ``zone`` (required then)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time (e.g. 2026-01-05T09:00)") from exc
    if value.tzinfo is not None:
        return value
    if zone is None:
        raise ValueError(f"{text!r} needs a UTC offset (e.g. 2026-01-05T09:00:00Z)")
    return localise(value, zone)


def parse_date(text: str) -> date:
    """Reads an ISO 8601 calendar date such as ``2026-01-05``."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (write YYYY-MM-DD)") from exc


def minute_floor(instant: datetime) -> datetime:
    """Drops seconds and below."""
    return instant.replace(second=0, microsecond=0)


ONE_MINUTE = timedelta(minutes=1)
