"""Prometheus-style durations: ``30s``, ``5m``, ``1h30m``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from datetime import timedelta

# Units from largest to smallest, as Prometheus orders them; each may appear once.
_UNITS: tuple[tuple[str, timedelta], ...] = (
    ("y", timedelta(days=365)),
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)
_DURATION = re.compile(
    "".join(rf"(?:(?P<{unit}>\d{{1,9}}){unit})?" for unit, _ in _UNITS), re.ASCII
)


def parse_duration(text: str) -> timedelta:
    """Parses a duration such as ``1h30m``; raises ValueError with a readable reason."""
    if text == "0":
        return timedelta(0)
    found = _DURATION.fullmatch(text)
    if not text or found is None:
        raise ValueError(f"{text!r} is not a duration (write e.g. 30s, 5m, 1h30m, 2d, 1w)")
    total = timedelta(0)
    try:
        for unit, size in _UNITS:
            count = found.group(unit)
            if count is not None:
                total += int(count) * size
    except OverflowError as exc:
        raise ValueError(f"{text!r} is too long a duration") from exc
    return total


def format_duration(value: timedelta) -> str:
    """Writes a duration the way :func:`parse_duration` reads it (``90m`` -> ``1h30m``).

    Every duration Tocsin puts into text (summaries, reasons, messages) is written with
    it, in the rules' own syntax rather than Python's ``0:10:00``. What is below a
    millisecond is dropped (the syntax has no smaller unit); a duration of less than
    that, or a negative one, is ``0s``.
    """
    rest = value
    parts: list[str] = []
    for unit, size in _UNITS[1:]:  # years are ambiguous next to weeks; stop at weeks
        count, rest = divmod(rest, size)
        if count > 0:
            parts.append(f"{count}{unit}")
    return "".join(parts) if value > timedelta(0) and parts else "0s"
