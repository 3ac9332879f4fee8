"""Restrictions, layer precedence, layer bounds and overrides in final shifts, table-driven."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.oncall import OVERRIDE, final_shifts, on_call_at, shift_at
from rules.schedules import Override, Schedule
from tests.escalation.builders import layer, local, schedule, utc, window

DAY, WEEK = timedelta(days=1), timedelta(weeks=1)
Expected = list[tuple[str, str, str | None, str | None]]  # UTC start, end, person, source

BERLIN_WEEKLY = layer("weekly", "a,b", WEEK, local("2026-01-05T09:00", "Europe/Berlin"))

CASES: list[tuple[str, Schedule, str, str, Expected]] = [
    (
        # Office hours Mon-Fri 09:00-17:00 Berlin (CET = UTC+1): nobody at night or on
        # the weekend; the daily rotation's turn changes at the 09:00 handoff.
        "weekday-office-hours",
        schedule(
            layer(
                "office",
                "a,b",
                DAY,
                local("2026-01-05T09:00", "Europe/Berlin"),
                restrictions=(window("mon-fri", "09:00", "17:00"),),
            )
        ),
        "2026-01-09T00:00",  # a Friday
        "2026-01-12T12:00",  # the Monday after
        [
            ("2026-01-09T00:00", "2026-01-09T08:00", None, None),
            ("2026-01-09T08:00", "2026-01-09T16:00", "a", "office"),
            ("2026-01-09T16:00", "2026-01-12T08:00", None, None),
            ("2026-01-12T08:00", "2026-01-12T12:00", "b", "office"),
        ],
    ),
    (
        # A Friday-night window 22:00-06:00 runs past midnight into Saturday only.
        "overnight-window-past-midnight",
        schedule(
            layer(
                "night",
                "a",
                WEEK,
                local("2026-01-05T00:00", "UTC"),
                restrictions=(window("fri", "22:00", "06:00"),),
            )
        ),
        "2026-01-08T00:00",
        "2026-01-11T00:00",
        [
            ("2026-01-08T00:00", "2026-01-09T22:00", None, None),
            ("2026-01-09T22:00", "2026-01-10T06:00", "a", "night"),
            ("2026-01-10T06:00", "2026-01-11T00:00", None, None),
        ],
    ),
    (
        # A window in Berlin's gap hour: 02:00-04:00 on the 29th of March opens at 03:00
        # CEST (01:00Z), the next valid instant, and closes at 04:00 CEST (02:00Z).
        "window-opening-in-the-gap",
        schedule(
            layer(
                "l",
                "a",
                WEEK,
                local("2026-03-23T00:00", "Europe/Berlin"),
                restrictions=(window("sun", "02:00", "04:00"),),
            )
        ),
        "2026-03-29T00:00",
        "2026-03-29T03:00",
        [
            ("2026-03-29T00:00", "2026-03-29T01:00", None, None),
            ("2026-03-29T01:00", "2026-03-29T02:00", "a", "l"),
            ("2026-03-29T02:00", "2026-03-29T03:00", None, None),
        ],
    ),
    (
        # A window ending in New York's repeated hour: 00:00-01:30 on November 1st ends
        # at the first 01:30 (EDT, 05:30Z); the repeat (EST) is outside it.
        "window-closing-in-the-repeated-hour",
        schedule(
            layer(
                "l",
                "a",
                WEEK,
                local("2026-10-26T00:00", "America/New_York"),
                restrictions=(window("sun", "00:00", "01:30"),),
            )
        ),
        "2026-11-01T03:00",
        "2026-11-01T08:00",
        [
            ("2026-11-01T03:00", "2026-11-01T04:00", None, None),
            ("2026-11-01T04:00", "2026-11-01T05:30", "a", "l"),
            ("2026-11-01T05:30", "2026-11-01T08:00", None, None),
        ],
    ),
    (
        # The later layer wins where both apply: a daytime layer over a weekly backstop.
        "later-layer-wins",
        schedule(
            BERLIN_WEEKLY,
            layer(
                "day",
                "c",
                DAY,
                local("2026-01-05T09:00", "Europe/Berlin"),
                restrictions=(window("mon-sun", "09:00", "17:00"),),
            ),
        ),
        "2026-01-06T00:00",
        "2026-01-07T00:00",
        [
            ("2026-01-06T00:00", "2026-01-06T08:00", "a", "weekly"),
            ("2026-01-06T08:00", "2026-01-06T16:00", "c", "day"),
            ("2026-01-06T16:00", "2026-01-07T00:00", "a", "weekly"),
        ],
    ),
    (
        # Before its first handoff a layer covers nobody; after its end, nobody either.
        "first-handoff-and-end-bound-the-layer",
        schedule(
            layer(
                "l",
                "a,b",
                DAY,
                local("2026-01-05T12:00", "UTC"),
                end=local("2026-01-06T18:00", "UTC"),
            )
        ),
        "2026-01-05T00:00",
        "2026-01-07T00:00",
        [
            ("2026-01-05T00:00", "2026-01-05T12:00", None, None),
            ("2026-01-05T12:00", "2026-01-06T12:00", "a", "l"),
            ("2026-01-06T12:00", "2026-01-06T18:00", "b", "l"),
            ("2026-01-06T18:00", "2026-01-07T00:00", None, None),
        ],
    ),
    (
        # A layer's start later than its handoff: the turns keep the handoff's count.
        "start-after-handoff-keeps-turn-order",
        schedule(
            layer(
                "l",
                "a,b,c",
                DAY,
                local("2026-01-05T00:00", "UTC"),
                start=local("2026-01-06T06:00", "UTC"),
            )
        ),
        "2026-01-06T00:00",
        "2026-01-07T12:00",
        [
            ("2026-01-06T00:00", "2026-01-06T06:00", None, None),
            ("2026-01-06T06:00", "2026-01-07T00:00", "b", "l"),
            ("2026-01-07T00:00", "2026-01-07T12:00", "c", "l"),
        ],
    ),
    (
        # An override in the middle of a weekly turn splits it in three.
        "override-splits-a-turn",
        schedule(
            BERLIN_WEEKLY,
            overrides=(Override("z", utc("2026-01-07T10:00"), utc("2026-01-07T14:00")),),
        ),
        "2026-01-07T00:00",
        "2026-01-08T00:00",
        [
            ("2026-01-07T00:00", "2026-01-07T10:00", "a", "weekly"),
            ("2026-01-07T10:00", "2026-01-07T14:00", "z", OVERRIDE),
            ("2026-01-07T14:00", "2026-01-08T00:00", "a", "weekly"),
        ],
    ),
    (
        # Overlapping overrides: the later one in the list wins where they overlap.
        "later-override-wins",
        schedule(
            BERLIN_WEEKLY,
            overrides=(
                Override("y", utc("2026-01-07T10:00"), utc("2026-01-07T14:00")),
                Override("z", utc("2026-01-07T12:00"), utc("2026-01-07T13:00")),
            ),
        ),
        "2026-01-07T09:00",
        "2026-01-07T15:00",
        [
            ("2026-01-07T09:00", "2026-01-07T10:00", "a", "weekly"),
            ("2026-01-07T10:00", "2026-01-07T12:00", "y", OVERRIDE),
            ("2026-01-07T12:00", "2026-01-07T13:00", "z", OVERRIDE),
            ("2026-01-07T13:00", "2026-01-07T14:00", "y", OVERRIDE),
            ("2026-01-07T14:00", "2026-01-07T15:00", "a", "weekly"),
        ],
    ),
    (
        # An override also covers times no layer does (a restriction's night).
        "override-fills-a-restricted-night",
        schedule(
            layer(
                "office",
                "a",
                DAY,
                local("2026-01-05T00:00", "UTC"),
                restrictions=(window("mon-fri", "09:00", "17:00"),),
            ),
            overrides=(Override("z", utc("2026-01-06T16:00"), utc("2026-01-06T20:00")),),
        ),
        "2026-01-06T12:00",
        "2026-01-06T22:00",
        [
            ("2026-01-06T12:00", "2026-01-06T16:00", "a", "office"),
            ("2026-01-06T16:00", "2026-01-06T20:00", "z", OVERRIDE),
            ("2026-01-06T20:00", "2026-01-06T22:00", None, None),
        ],
    ),
    (
        # The same member twice in a row (a, a, b) is one shift, not two.
        "repeated-member-is-one-shift",
        schedule(layer("l", "a,a,b", DAY, local("2026-01-05T00:00", "UTC"))),
        "2026-01-05T00:00",
        "2026-01-08T00:00",
        [
            ("2026-01-05T00:00", "2026-01-07T00:00", "a", "l"),
            ("2026-01-07T00:00", "2026-01-08T00:00", "b", "l"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "sched", "start", "end", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_final_shifts_apply_restrictions_layers_and_overrides(
    name: str, sched: Schedule, start: str, end: str, expected: Expected
) -> None:
    shifts = final_shifts(sched, utc(start), utc(end))
    assert [(s.start, s.end, s.person, s.source) for s in shifts] == [
        (utc(a), utc(b), p, src) for a, b, p, src in expected
    ]


def test_shift_at_follows_the_running_shift_to_its_start_and_end() -> None:
    # Wednesday noon in Berlin's weekly rotation: a's turn began Monday 09:00 CET and runs
    # to the next Monday 09:00 CET (it said "began at the question's time" before).
    sched = schedule(BERLIN_WEEKLY)
    shift = shift_at(sched, utc("2026-01-07T12:00"))
    assert (shift.person, shift.start, shift.end) == (
        "a",
        utc("2026-01-05T08:00"),
        utc("2026-01-12T08:00"),
    )
    assert on_call_at(sched, utc("2026-01-12T08:00")) == ("b",)
