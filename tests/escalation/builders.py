"""Schedules for the on-call tests, written as briefly as the rules write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import WeeklyWindow, parse_clock, parse_weekdays
from rules.schedules import Layer, Override, Rotation, Schedule


def utc(text: str) -> datetime:
    """An instant written as a UTC wall-clock time, e.g. ``2026-03-29T01:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str, fold: int = 0) -> datetime:
    """An instant written as a wall-clock time in ``zone`` (``fold=1``: the repeat)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone), fold=fold)


def window(days: str, start: str, end: str) -> WeeklyWindow:
    """A restriction such as ``window("mon-fri", "09:00", "17:00")``."""
    return WeeklyWindow(
        parse_weekdays(days.split(",")), parse_clock(start), parse_clock(end, allow_24=True)
    )


def layer(
    name: str,
    members: str,
    every: timedelta,
    handoff: datetime,
    *,
    restrictions: tuple[WeeklyWindow, ...] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> Layer:
    """A layer in the zone of its handoff; members as ``"a,b,c"``."""
    zone = handoff.tzinfo
    assert isinstance(zone, ZoneInfo)
    rotation = Rotation(every, handoff)
    return Layer(name, tuple(members.split(",")), rotation, zone, restrictions, start, end)


def schedule(*layers: Layer, overrides: tuple[Override, ...] = ()) -> Schedule:
    """A schedule named ``s`` in the first layer's zone."""
    return Schedule("s", "S", layers[0].time_zone, tuple(layers), overrides)
