"""Final shifts across the European and US DST changes, table-driven.

2026's changes: Europe on the last Sundays of March (29th) and October (25th), at 01:00
UTC; the US on the second Sunday of March (8th) and the first of November (1st), at
02:00 local time. Handoffs are wall-clock times in the layer's zone; one that does not
exist moves to the instant the clocks jump, one that occurs twice takes its first
occurrence (GoAlert's rules).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from escalation.oncall import final_shifts, on_call_at
from rules.schedules import Schedule
from tests.escalation.builders import layer, local, schedule, utc

DAY, WEEK = timedelta(days=1), timedelta(weeks=1)
Expected = list[tuple[str, str, str | None]]  # UTC start, UTC end, person

CASES: list[tuple[str, Schedule, str, str, Expected]] = [
    (
        # Berlin spring: a daily 09:00 handoff stays at 09:00, so the turn over the
        # change lasts 23 hours (08:00Z CET, then 07:00Z CEST).
        "berlin-daily-0900-spring",
        schedule(layer("l", "a,b", DAY, local("2026-03-27T09:00", "Europe/Berlin"))),
        "2026-03-28T00:00",
        "2026-03-30T12:00",
        [
            ("2026-03-28T00:00", "2026-03-28T08:00", "a"),
            ("2026-03-28T08:00", "2026-03-29T07:00", "b"),
            ("2026-03-29T07:00", "2026-03-30T07:00", "a"),
            ("2026-03-30T07:00", "2026-03-30T12:00", "b"),
        ],
    ),
    (
        # Berlin spring, handoff in the gap: 02:30 on the 29th does not exist and moves
        # to 03:00 CEST (01:00Z); the next day's 02:30 CEST is 00:30Z.
        "berlin-daily-0230-gap",
        schedule(layer("l", "a,b", DAY, local("2026-03-27T02:30", "Europe/Berlin"))),
        "2026-03-28T00:00",
        "2026-03-30T06:00",
        [
            ("2026-03-28T00:00", "2026-03-28T01:30", "a"),
            ("2026-03-28T01:30", "2026-03-29T01:00", "b"),
            ("2026-03-29T01:00", "2026-03-30T00:30", "a"),
            ("2026-03-30T00:30", "2026-03-30T06:00", "b"),
        ],
    ),
    (
        # Berlin autumn, handoff in the repeated hour: 02:30 on the 25th happens twice
        # and takes the first (CEST, 00:30Z); the turn after it lasts 25 hours.
        "berlin-daily-0230-overlap",
        schedule(layer("l", "a,b", DAY, local("2026-10-23T02:30", "Europe/Berlin"))),
        "2026-10-24T00:00",
        "2026-10-26T06:00",
        [
            ("2026-10-24T00:00", "2026-10-24T00:30", "a"),
            ("2026-10-24T00:30", "2026-10-25T00:30", "b"),
            ("2026-10-25T00:30", "2026-10-26T01:30", "a"),
            ("2026-10-26T01:30", "2026-10-26T06:00", "b"),
        ],
    ),
    (
        # London spring, weekly on Sundays at 01:30: the gap (01:00-02:00) moves the
        # handoff to 02:00 BST (01:00Z), half an hour earlier in real time.
        "london-weekly-0130-gap",
        schedule(layer("l", "a,b", WEEK, local("2026-03-15T01:30", "Europe/London"))),
        "2026-03-20T00:00",
        "2026-04-06T00:00",
        [
            ("2026-03-20T00:00", "2026-03-22T01:30", "a"),
            ("2026-03-22T01:30", "2026-03-29T01:00", "b"),
            ("2026-03-29T01:00", "2026-04-05T00:30", "a"),
            ("2026-04-05T00:30", "2026-04-06T00:00", "b"),
        ],
    ),
    (
        # London autumn, weekly on Sundays at 01:30: the first 01:30 (BST, 00:30Z);
        # the week after lasts one hour longer in real time.
        "london-weekly-0130-overlap",
        schedule(layer("l", "a,b", WEEK, local("2026-10-18T01:30", "Europe/London"))),
        "2026-10-20T00:00",
        "2026-11-02T00:00",
        [
            ("2026-10-20T00:00", "2026-10-25T00:30", "a"),
            ("2026-10-25T00:30", "2026-11-01T01:30", "b"),
            ("2026-11-01T01:30", "2026-11-02T00:00", "a"),
        ],
    ),
    (
        # New York spring, daily at 02:00: 02:00 on the 8th does not exist and becomes
        # 03:00 EDT (07:00Z), the same instant as the day before's 02:00 EST.
        "new-york-daily-0200-gap",
        schedule(layer("l", "a,b", DAY, local("2026-03-06T02:00", "America/New_York"))),
        "2026-03-07T00:00",
        "2026-03-09T12:00",
        [
            ("2026-03-07T00:00", "2026-03-07T07:00", "a"),
            ("2026-03-07T07:00", "2026-03-08T07:00", "b"),
            ("2026-03-08T07:00", "2026-03-09T06:00", "a"),
            ("2026-03-09T06:00", "2026-03-09T12:00", "b"),
        ],
    ),
    (
        # New York autumn, daily at 01:00: the first 01:00 of November 1st (EDT, 05:00Z);
        # that turn lasts 25 hours, to 01:00 EST (06:00Z).
        "new-york-daily-0100-overlap",
        schedule(layer("l", "a,b", DAY, local("2026-10-30T01:00", "America/New_York"))),
        "2026-10-31T00:00",
        "2026-11-02T12:00",
        [
            ("2026-10-31T00:00", "2026-10-31T05:00", "a"),
            ("2026-10-31T05:00", "2026-11-01T05:00", "b"),
            ("2026-11-01T05:00", "2026-11-02T06:00", "a"),
            ("2026-11-02T06:00", "2026-11-02T12:00", "b"),
        ],
    ),
    (
        # Los Angeles spring, weekly on Sundays at 02:15: moved to 03:00 PDT (10:00Z).
        "los-angeles-weekly-0215-gap",
        schedule(layer("l", "a,b,c", WEEK, local("2026-03-01T02:15", "America/Los_Angeles"))),
        "2026-03-01T00:00",
        "2026-03-16T00:00",
        [
            ("2026-03-01T00:00", "2026-03-01T10:15", None),
            ("2026-03-01T10:15", "2026-03-08T10:00", "a"),
            ("2026-03-08T10:00", "2026-03-15T09:15", "b"),
            ("2026-03-15T09:15", "2026-03-16T00:00", "c"),
        ],
    ),
    (
        # Los Angeles autumn, weekly on Sundays at 01:45: the first 01:45 (PDT, 08:45Z),
        # then 01:45 PST (09:45Z) a week later.
        "los-angeles-weekly-0145-overlap",
        schedule(layer("l", "a,b", WEEK, local("2026-10-25T01:45", "America/Los_Angeles"))),
        "2026-10-30T00:00",
        "2026-11-09T00:00",
        [
            ("2026-10-30T00:00", "2026-11-01T08:45", "a"),
            ("2026-11-01T08:45", "2026-11-08T09:45", "b"),
            ("2026-11-08T09:45", "2026-11-09T00:00", "a"),
        ],
    ),
    (
        # Hourly turns over Berlin's gap: the 02:00 turn lasts no time and is skipped,
        # so b (turn 01:00 CET) hands to d (turn 03:00 CEST) at 01:00Z.
        "berlin-hourly-gap-skips-a-turn",
        schedule(
            layer("l", "a,b,c,d", timedelta(hours=1), local("2026-03-29T00:00", "Europe/Berlin"))
        ),
        "2026-03-28T23:00",
        "2026-03-29T02:00",
        [
            ("2026-03-28T23:00", "2026-03-29T00:00", "a"),
            ("2026-03-29T00:00", "2026-03-29T01:00", "b"),
            ("2026-03-29T01:00", "2026-03-29T02:00", "d"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "sched", "start", "end", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_final_shifts_follow_wall_clock_handoffs_across_dst(
    name: str, sched: Schedule, start: str, end: str, expected: Expected
) -> None:
    shifts = final_shifts(sched, utc(start), utc(end))
    got = [(s.start, s.end, s.person) for s in shifts]
    assert got == [(utc(a), utc(b), p) for a, b, p in expected]
    # Who is on call at each shift's first instant is that shift's person.
    for shift in shifts:
        assert on_call_at(sched, shift.start) == (() if shift.person is None else (shift.person,))


def test_handoff_given_with_an_offset_in_the_repeated_hour_starts_there() -> None:
    # The rules may name the second 01:30 in New York (EST) with an offset: the first
    # turn starts there, later ones at the first 01:30 of their day.
    handoff = local("2026-11-01T01:30", "America/New_York", fold=1)
    sched = schedule(layer("l", "a,b", DAY, handoff))
    shifts = final_shifts(sched, utc("2026-11-01T00:00"), utc("2026-11-03T00:00"))
    assert [(s.start, s.person) for s in shifts] == [
        (utc("2026-11-01T00:00"), None),
        (utc("2026-11-01T06:30"), "a"),
        (utc("2026-11-02T06:30"), "b"),
    ]


def test_final_shifts_refuse_naive_or_empty_ranges() -> None:
    sched = schedule(layer("l", "a", DAY, local("2026-01-01T09:00", "Europe/Berlin")))
    with pytest.raises(ValueError, match="aware"):
        final_shifts(sched, datetime(2026, 1, 1), utc("2026-01-02T00:00"))
    with pytest.raises(ValueError, match="before"):
        final_shifts(sched, utc("2026-01-02T00:00"), utc("2026-01-02T00:00"))
