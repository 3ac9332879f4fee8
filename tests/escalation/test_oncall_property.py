"""Property: final shifts partition any range and agree, instant by instant, with the definition.

The oracle below answers "who is on call at t" straight from the rules' wording, one
instant at a time and with its own DST arithmetic (it walks the wall clock minute by
minute instead of searching offsets), so it shares no code with the calculator.
Schedules are drawn around the 2026 DST changes of Berlin, London, New York and Los
Angeles, with random rotations, handoffs, restrictions, bounds and overrides.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalation.oncall import final_shifts, on_call_at
from rules.calendar import WeeklyWindow
from rules.schedules import Layer, Override, Rotation, Schedule

ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "UTC"]
# Each zone's changes in 2026 lie inside one of these ranges.
ANCHORS = [
    datetime(2026, 3, 5, tzinfo=UTC),
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
]
PEOPLE = ["a", "b", "c", "d"]
LENGTHS = [timedelta(hours=h) for h in (1, 2, 5, 8, 12, 24, 36, 48, 168)]


# Every UTC offset the zones above use in 2026, in whole hours.
OFFSETS = [timedelta(hours=h) for h in (-8, -7, -5, -4, 0, 1, 2)]


def oracle_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose wall-clock time in ``zone`` is ``wall`` or, if none, later."""
    exact = [
        (wall - offset).replace(tzinfo=UTC)
        for offset in OFFSETS
        if ((wall - offset).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None) == wall
    ]
    if exact:
        return min(exact)
    # A DST gap: walk the clock a minute at a time to the first instant past ``wall``.
    target = wall.replace(second=0, microsecond=0)
    probe = (target - timedelta(hours=3)).replace(tzinfo=UTC)
    while probe.astimezone(zone).replace(tzinfo=None) < target:
        probe += timedelta(minutes=1)
    return probe


@functools.cache
def oracle_handoffs(layer: Layer, until: datetime) -> list[datetime]:
    """Every handoff of the layer's rotation from the first one to the first past ``until``."""
    wall = layer.rotation.handoff.astimezone(layer.time_zone).replace(tzinfo=None)
    found = [layer.rotation.handoff.astimezone(UTC)]
    turn = 1
    while found[-1] <= until:
        found.append(oracle_instant(wall + layer.rotation.length * turn, layer.time_zone))
        turn += 1
    return found


def oracle_in_window(window: WeeklyWindow, zone: ZoneInfo, at: datetime) -> bool:
    """Whether ``at`` falls in an occurrence of ``window`` opened on the last three days."""
    today = at.astimezone(zone).date()
    for back in range(3):
        day = today - timedelta(days=back)
        if day.weekday() not in window.days:
            continue
        midnight = datetime(day.year, day.month, day.day)
        close = window.end if window.start < window.end else window.end + 1440
        opens = oracle_instant(midnight + timedelta(minutes=window.start), zone)
        closes = oracle_instant(midnight + timedelta(minutes=close), zone)
        if opens <= at < closes:
            return True
    return False


def oracle(schedule: Schedule, at: datetime, until: datetime) -> str | None:
    """Who the schedule's definition puts on call at ``at`` (before ``until``)."""
    for override in reversed(schedule.overrides):
        if override.start <= at < override.end:
            return override.person
    for layer in reversed(schedule.layers):
        if layer.start is not None and at < layer.start:
            continue
        if layer.end is not None and at >= layer.end:
            continue
        if layer.restrictions and not any(
            oracle_in_window(w, layer.time_zone, at) for w in layer.restrictions
        ):
            continue
        handoffs = oracle_handoffs(layer, until)
        turns = bisect.bisect_right(handoffs, at)
        if turns == 0:
            continue  # before the first handoff
        return layer.members[(turns - 1) % len(layer.members)]
    return None


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A schedule near a DST change and a range of up to 10 days to compute."""
    anchor = draw(st.sampled_from(ANCHORS))
    minutes = st.integers(0, 24 * 60 * 12).map(lambda m: anchor + timedelta(minutes=m * 1))
    layers = []
    for index in range(draw(st.integers(1, 3))):
        zone = ZoneInfo(draw(st.sampled_from(ZONES)))
        handoff = (
            draw(minutes).replace(minute=draw(st.sampled_from([0, 15, 30, 45]))).astimezone(zone)
        )
        windows = tuple(
            WeeklyWindow(
                frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
                draw(st.integers(0, 95)) * 15,
                draw(st.integers(1, 96)) * 15,
            )
            for _ in range(draw(st.integers(0, 2)))
        )
        start = draw(st.none() | minutes)
        end = draw(st.none() | minutes)
        if start is not None and end is not None and end <= start:
            start, end = end, start + timedelta(hours=1)
        members = tuple(draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)))
        rotation = Rotation(draw(st.sampled_from(LENGTHS)), handoff)
        layers.append(Layer(f"l{index}", members, rotation, zone, windows, start, end))
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        opens = draw(minutes)
        overrides.append(
            Override(
                draw(st.sampled_from(PEOPLE)),
                opens,
                opens + timedelta(minutes=draw(st.integers(30, 3000))),
            )
        )
    schedule = Schedule("s", "S", ZoneInfo("UTC"), tuple(layers), tuple(overrides))
    start = draw(minutes)
    end = start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 8)))
    return schedule, start, end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), st.lists(st.floats(0, 1, exclude_max=True), min_size=5, max_size=5))
def test_final_shifts_partition_the_range_and_match_the_definition_everywhere(
    drawn: tuple[Schedule, datetime, datetime], fractions: list[float]
) -> None:
    schedule, start, end = drawn
    shifts = final_shifts(schedule, start, end)
    # No gap and no overlap: each shift starts where the previous one ended.
    assert shifts[0].start == start
    assert shifts[-1].end == end
    for before, after in itertools.pairwise(shifts):
        assert before.end == after.start
        # Neighbours differ, or they would be one shift.
        assert (before.person, before.source) != (after.person, after.source)
    for shift in shifts:
        assert shift.start < shift.end
    # The definition changes only at handoffs, window edges, bounds and override edges,
    # and each of those is a shift boundary where it changes the person: checking the
    # first and last instant of every shift and random instants inside checks them all.
    tiny = timedelta(microseconds=1)
    for shift in shifts:
        probes = [shift.start, shift.end - tiny]
        probes += [
            min(shift.start + (shift.end - shift.start) * f, shift.end - tiny)
            for f in fractions[:2]
        ]
        for at in probes:
            assert oracle(schedule, at, end) == shift.person, (at, shift)
    # "Who is on call at t" is the same calculator.
    for f in fractions:
        at = min(start + (end - start) * f, end - tiny)
        expected = oracle(schedule, at, end)
        assert on_call_at(schedule, at) == (() if expected is None else (expected,))
