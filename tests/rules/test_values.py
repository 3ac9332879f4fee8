"""Durations, clock windows and cron expressions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules.calendar import WeeklyWindow, parse_weekdays
from rules.cron import parse_cron
from rules.durations import format_duration, parse_duration
from rules.templates import TemplateCompiler, TemplateKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Seconds, minutes, hours, days, weeks as Prometheus writes them.
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        # Milliseconds are not minutes.
        ("1m500ms", timedelta(minutes=1, milliseconds=500)),
        # A bare zero.
        ("0", timedelta(0)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Units out of order.
        "30m1h",
        # A space.
        "1h 30m",
        # No unit.
        "30",
        # A fraction.
        "1.5h",
        # Nothing.
        "",
        # Larger than a timedelta holds.
        "999999999y",
    ],
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_reads_back() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert parse_duration(format_duration(timedelta(days=9, seconds=1))) == timedelta(
        days=9, seconds=1
    )


def test_weekday_ranges_may_wrap_the_weekend() -> None:
    assert parse_weekdays(["fri-mon"]) == frozenset({4, 5, 6, 0})
    assert parse_weekdays(["mon-fri", "sunday"]) == frozenset({0, 1, 2, 3, 4, 6})


def test_a_whole_day_window() -> None:
    window = WeeklyWindow(frozenset({6}), 0, 24 * 60)
    assert window.contains(datetime(2026, 3, 8, 23, 59))  # a Sunday
    assert not window.contains(datetime(2026, 3, 9, 0, 0))


@pytest.mark.parametrize(
    ("expression", "minute", "expected"),
    [
        # Every Sunday at 02:00 (day names, Sunday is 0 and 7).
        ("0 2 * * sun", datetime(2026, 3, 8, 2, 0), True),
        ("0 2 * * 7", datetime(2026, 3, 8, 2, 0), True),
        ("0 2 * * sun", datetime(2026, 3, 9, 2, 0), False),
        # Steps and ranges.
        ("*/15 9-17 * * mon-fri", datetime(2026, 3, 9, 9, 45), True),
        ("*/15 9-17 * * mon-fri", datetime(2026, 3, 9, 9, 40), False),
        # Both day fields restricted: either may match, as in cron.
        ("0 0 1 * mon", datetime(2026, 3, 9, 0, 0), True),
        ("0 0 1 * mon", datetime(2026, 4, 1, 0, 0), True),
        ("0 0 1 * mon", datetime(2026, 4, 2, 0, 0), False),
        # A macro.
        ("@daily", datetime(2026, 4, 2, 0, 0), True),
    ],
)
def test_cron(expression: str, minute: datetime, expected: bool) -> None:
    assert parse_cron(expression).matches(minute) is expected


@pytest.mark.parametrize(
    "expression", ["0 2 * *", "0 25 * * *", "0 2 * * funday", "0 0 30 2 *", "0 0 * * * *", "H 2 * * *"]
)
def test_bad_cron(expression: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_cron(expression)


def test_templates_read_absent_labels_as_empty() -> None:
    template = TemplateCompiler().compile(
        "[{{ labels.team }}] {{ labels.alertname }}", TemplateKind.TITLE
    )
    assert template.render({"labels": {"alertname": "X"}}) == "[] X"


def test_a_template_failing_at_runtime_returns_the_fallback() -> None:
    template = TemplateCompiler().compile("{{ 10 // alert_count }}", TemplateKind.TITLE)
    assert template.render({"alert_count": 0}, fallback="fallback") == "fallback"


def test_the_sandbox_bounds_repetition() -> None:
    with pytest.raises(ValueError, match="exceeds its resource budget"):
        TemplateCompiler().compile("{{ 'x' * 1000000000 }}", TemplateKind.PUBLIC)
