"""RFC 3339 parsing as monitoring systems send timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.timestamps import format_rfc3339, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Alertmanager: nanoseconds, cut to microseconds.
        ("2026-11-27T15:09:11.543058134Z", datetime(2026, 11, 27, 15, 9, 11, 543058, tzinfo=UTC)),
        # Prometheus: milliseconds.
        ("2026-11-27T15:16:03.568Z", datetime(2026, 11, 27, 15, 16, 3, 568000, tzinfo=UTC)),
        # An offset other than Z is converted to UTC.
        ("2026-11-27T17:16:03+02:00", datetime(2026, 11, 27, 15, 16, 3, tzinfo=UTC)),
        # Go's zero time means "not set".
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_parse_accepts_what_senders_send(text: str, expected: datetime | None) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27",
        "2026-11-27T15:16:03",
        "yesterday",
        "2026-13-01T00:00:00Z",
        # Valid as written, but in the year 10000 once in UTC.
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_parse_rejects_what_is_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


def test_format_round_trips() -> None:
    instant = datetime(2026, 11, 27, 15, 16, 3, 568000, tzinfo=UTC)
    assert format_rfc3339(instant) == "2026-11-27T15:16:03.568000Z"
    assert parse_rfc3339(format_rfc3339(instant)) == instant
