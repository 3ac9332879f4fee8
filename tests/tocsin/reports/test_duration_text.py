"""Durations in reports read as people write them: two units at most, rounded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tocsin.reports.render_support import duration_text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),  # no duration (never acknowledged)
        (timedelta(0), "0s"),  # at once
        (timedelta(seconds=9.089), "9.1s"),  # not "9s89ms"
        (timedelta(seconds=59.96), "1m"),  # rounds up into the next unit
        (timedelta(seconds=252), "4m 12s"),  # two units
        (timedelta(hours=2, minutes=5, seconds=40), "2h 6m"),  # rounded to the smaller unit
        (timedelta(seconds=3599.6), "1h"),  # rounds up into the hour
        (timedelta(days=30), "30d"),  # not "4w2d"
        (timedelta(days=3, hours=4, minutes=31), "3d 5h"),  # days and hours
        (timedelta(seconds=-90), "-1m 30s"),  # a clock that went backwards says so
    ],
)
def test_duration_text(value: timedelta | None, shown: str) -> None:
    assert duration_text(value) == shown
