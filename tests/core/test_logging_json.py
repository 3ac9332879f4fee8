"""JSON log lines show instants and durations as the API does, not as Python reprs."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from core.logging import configure_logging


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """JSON logging configured to write into the returned buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    configure_logging("json", "info")
    yield buffer
    structlog.reset_defaults()


def last_line(buffer: io.StringIO) -> dict[str, Any]:
    """The last JSON line logged."""
    line: dict[str, Any] = json.loads(buffer.getvalue().strip().splitlines()[-1])
    return line


def test_an_instant_is_rfc3339_and_a_duration_is_seconds(json_log: io.StringIO) -> None:
    until = datetime(2026, 12, 3, 8, 4, 5, 123456, tzinfo=UTC)

    structlog.get_logger("t").info("channel paused", until=until, backoff=timedelta(seconds=90))

    line = last_line(json_log)
    assert line["until"] == "2026-12-03T08:04:05.123456Z"
    assert line["backoff"] == 90.0


def test_another_type_is_its_repr(json_log: io.StringIO) -> None:
    structlog.get_logger("t").info("odd", value={1, 2})

    assert last_line(json_log)["value"] == "{1, 2}"
