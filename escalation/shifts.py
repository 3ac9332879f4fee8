"""Wall-clock arithmetic of one schedule layer: its turns and its restriction windows.

Handoffs and restriction edges are wall-clock times in the layer's zone. Turning one
into an instant follows GoAlert's rules (its ``Clock.FirstOfDay``):

- a wall-clock time that a DST change skips moves to the next valid instant, the moment
  the clocks jump (02:30 on the night Berlin goes from 02:00 to 03:00 is 03:00 CEST);
- a wall-clock time that occurs twice when DST ends takes its first occurrence (01:30 on
  the night New York goes from 02:00 back to 01:00 is 01:30 EDT), for starts and ends
  alike, so a window ending at a time and the next one starting then still meet.

A rotation's k-th handoff is its first handoff's wall-clock time plus k turn lengths of
wall-clock time, so a daily 09:00 handoff stays at 09:00 across DST: the turn spanning
the change lasts 23 or 25 hours. A turn that falls wholly into a DST gap (hourly turns)
lasts no time, and that member's turn is skipped.

All instants here are aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import WeeklyWindow
from rules.schedules import Layer, Rotation

Interval = tuple[datetime, datetime]  # [start, end), aware, UTC
_ONE_DAY = timedelta(days=1)
# Restriction windows last at most two days counted from the day they start on (a
# window running past midnight ends on the next day at the latest): look back this far.
_WINDOW_REACH = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Segment:
    """One person on call from one layer over ``[start, end)`` (UTC)."""

    start: datetime
    end: datetime
    person: str


def instant_of(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone`` (GoAlert's DST rules).

    A skipped time becomes the instant the clocks jump; a repeated time its first
    occurrence (``fold=0``).
    """
    first = wall.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == wall:
        return as_utc
    # In a gap: fold=1 reads the time with the offset after the change (an instant just
    # before the jump), fold=0 with the one before (just after it). Offsets change on
    # whole seconds: find the first second with the new offset.
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(as_utc.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def handoff_at(rotation: Rotation, zone: ZoneInfo, turn: int) -> datetime:
    """The instant turn number ``turn`` (0 is the first) of ``rotation`` starts, in UTC."""
    if turn == 0:
        # As written in the rules, even when it names the second of a repeated hour.
        return rotation.handoff.astimezone(UTC)
    wall = rotation.handoff.astimezone(zone).replace(tzinfo=None)
    return instant_of(wall + rotation.length * turn, zone)


def turn_at(rotation: Rotation, zone: ZoneInfo, at: datetime) -> int:
    """The number of the turn running at ``at``: handoff(k) <= at < handoff(k + 1).

    Negative before the first handoff. The estimate from elapsed real time is off by
    at most the zone's offset changes, so a few steps correct it.
    """
    elapsed = at - rotation.handoff.astimezone(UTC)
    turn = elapsed // rotation.length
    while handoff_at(rotation, zone, turn) > at:
        turn -= 1
    while handoff_at(rotation, zone, turn + 1) <= at:
        turn += 1
    return turn


def restriction_intervals(
    windows: Iterable[WeeklyWindow], zone: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """The instants in ``[start, end)`` inside any of ``windows``, merged and sorted.

    Each window's edges are wall-clock times on the days it lists, turned into instants
    with :func:`instant_of`; a window DST empties (02:00-02:30 on a spring-forward
    night) covers nothing.
    """
    first_day = (start - _WINDOW_REACH).astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    found: list[Interval] = []
    day = first_day
    while day <= last_day:
        for window in windows:
            if day.weekday() not in window.days:
                continue
            opens, closes = _window_edges(window, day, zone)
            opens, closes = max(opens, start), min(closes, end)
            if opens < closes:
                found.append((opens, closes))
        day += _ONE_DAY
    return merge_intervals(found)


def _window_edges(window: WeeklyWindow, day: date, zone: ZoneInfo) -> Interval:
    midnight = datetime.combine(day, time())
    opens = midnight + timedelta(minutes=window.start)
    # An end at or before the start is on the next day (22:00-06:00, 09:00-09:00).
    closes = midnight + timedelta(minutes=window.end + (0 if window.start < window.end else 1440))
    return instant_of(opens, zone), instant_of(closes, zone)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorts intervals and joins those that overlap or touch."""
    merged: list[Interval] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def layer_segments(layer: Layer, start: datetime, end: datetime) -> list[Segment]:
    """Who ``layer`` puts on call in ``[start, end)``: sorted, non-overlapping segments.

    The layer is on call from its first handoff (or its ``start``, if later) until its
    ``end``, inside its restrictions; gaps between segments are times it covers nobody.
    """
    rotation = layer.rotation
    # In UTC: aware datetimes of one zone compare by wall-clock time, ignoring fold.
    first = rotation.handoff.astimezone(UTC)
    opens = max(start, first, (layer.start or first).astimezone(UTC))
    closes = min(end, layer.end.astimezone(UTC)) if layer.end is not None else end
    if opens >= closes:
        return []
    spans = (
        restriction_intervals(layer.restrictions, layer.time_zone, opens, closes)
        if layer.restrictions
        else [(opens, closes)]
    )
    segments: list[Segment] = []
    for span_start, span_end in spans:
        turn = turn_at(rotation, layer.time_zone, span_start)
        turn_start = handoff_at(rotation, layer.time_zone, turn)
        while turn_start < span_end:
            turn_end = handoff_at(rotation, layer.time_zone, turn + 1)
            seg_start, seg_end = max(span_start, turn_start), min(span_end, turn_end)
            if seg_start < seg_end:
                person = layer.members[turn % len(layer.members)]
                if segments and segments[-1].end == seg_start and segments[-1].person == person:
                    # The same person's next turn (members [a, a, b]): one segment.
                    segments[-1] = Segment(segments[-1].start, seg_end, person)
                else:
                    segments.append(Segment(seg_start, seg_end, person))
            turn, turn_start = turn + 1, turn_end
    return segments
