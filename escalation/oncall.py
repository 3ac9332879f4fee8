"""Who is on call: the one calculator that paging, the API, the CLI and calendars share.

From a schedule as ``rules.schedules`` defines it:

- each layer puts one person on call at a time (``escalation.shifts``): its rotation's
  turns, counted in wall-clock time in the layer's zone, from its first handoff (or its
  ``start``) to its ``end``, inside its restrictions;
- where layers overlap, the later layer in the list wins;
- an override puts its person on call above every layer; where overrides overlap, the
  later one in the list wins.

The *final shifts* of a range partition it exactly: consecutive, neither overlapping
nor leaving a gap, each with the person on call (``None`` where the schedule covers
nobody) and what put them there. Adjacent pieces with the same person and source are
one shift.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from escalation.shifts import Segment, layer_segments
from rules.schedules import Schedule

OVERRIDE = "override"
# A shift shown as "on call now" is followed this far ahead to say until when.
LOOKAHEAD = timedelta(days=35)
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Shift:
    """``person`` is on call over ``[start, end)`` (UTC), put there by ``source``.

    ``source`` is the layer's name, ``"override"``, or ``None`` with ``person`` None
    when the schedule covers nobody then.
    """

    start: datetime
    end: datetime
    person: str | None
    source: str | None


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> tuple[Shift, ...]:
    """The final shifts of ``schedule`` over ``[start, end)``; both aware, start < end."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("final_shifts needs aware instants")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start >= end:
        raise ValueError("final_shifts needs start before end")
    # Lowest precedence first: layers in list order, then overrides in list order.
    sources: list[tuple[str, list[Segment]]] = [
        (layer.name, layer_segments(layer, start, end)) for layer in schedule.layers
    ]
    for override in schedule.overrides:
        opens = max(start, override.start.astimezone(UTC))
        closes = min(end, override.end.astimezone(UTC))
        covered = [Segment(opens, closes, override.person)] if opens < closes else []
        sources.append((OVERRIDE, covered))
    edges = sorted({start, end} | {t for _, seg in sources for s in seg for t in (s.start, s.end)})
    starts = [[s.start for s in segs] for _, segs in sources]
    shifts: list[Shift] = []
    for opens, closes in pairwise(edges):
        person, source = _winner(sources, starts, opens)
        if shifts and shifts[-1].person == person and shifts[-1].source == source:
            shifts[-1] = Shift(shifts[-1].start, closes, person, source)
        else:
            shifts.append(Shift(opens, closes, person, source))
    return tuple(shifts)


def _winner(
    sources: Sequence[tuple[str, Sequence[Segment]]],
    starts: Sequence[Sequence[datetime]],
    at: datetime,
) -> tuple[str | None, str | None]:
    """The person and source of the highest-precedence segment covering ``at``."""
    for (name, segments), begins in zip(reversed(sources), reversed(starts), strict=True):
        index = bisect_right(begins, at) - 1
        if index >= 0 and segments[index].end > at:
            return segments[index].person, name
    return None, None


def shift_at(schedule: Schedule, at: datetime, lookahead: timedelta = LOOKAHEAD) -> Shift:
    """The final shift running at ``at``: when it began and when it ends.

    Followed up to ``lookahead`` either way; a shift longer than that is cut there.
    """
    for shift in final_shifts(schedule, at - lookahead, at + lookahead):
        if shift.start <= at < shift.end:
            return shift
    raise AssertionError(f"final shifts leave {at} uncovered")  # they cover their range


def on_call_at(schedule: Schedule, at: datetime) -> tuple[str, ...]:
    """The people on call in ``schedule`` at the instant ``at`` (at most one; none in a gap)."""
    person = final_shifts(schedule, at, at + _INSTANT)[0].person
    return () if person is None else (person,)


def shifts_of_person(
    schedules: Sequence[Schedule], person: str, start: datetime, end: datetime
) -> list[tuple[Schedule, Shift]]:
    """Every final shift of ``person`` in any of ``schedules`` over ``[start, end)``."""
    found = [
        (schedule, shift)
        for schedule in schedules
        if person in schedule.members
        for shift in final_shifts(schedule, start, end)
        if shift.person == person
    ]
    return sorted(found, key=lambda pair: (pair[1].start, pair[0].name))
