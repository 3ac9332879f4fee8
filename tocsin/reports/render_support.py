"""Jinja2 environments and filters the reports' templates share.

HTML templates are autoescaped: every text in a report (titles, notes, labels) comes
from alerts and people. Markdown templates escape through the ``md`` filter, so that a
title cannot open a link, an image or a table cell.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.timestamps import format_rfc3339

TEMPLATES = Path(__file__).parent / "templates"
# Characters that can start markup inside a line or a table cell: emphasis, code, links
# and images, HTML, entities, cell borders. (Block markers such as # or - only count at
# the start of a line, and every text here follows a label or a cell border.)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_text(value: object) -> str:
    """Text safe inside a Markdown line or table cell: specials escaped, one line."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def duration_text(value: timedelta | None) -> str:
    """A duration as people read one, rounded to its two largest units; ``-`` for none.

    ``9.1s``, ``4m 12s``, ``2h 5m``, ``30d``, ``3d 4h``: the rules' syntax (``9s89ms``,
    ``4w2d``) is exact but easy to misread in a report.
    """
    if value is None:
        return "-"
    seconds = value.total_seconds()
    if seconds < 0:
        return "-" + duration_text(-value)
    if seconds < 59.95:  # what would not round up to a whole minute
        return f"{seconds:.1f}s".replace(".0s", "s")
    for unit, size, smaller, smaller_size in _UNITS:
        rounded = round(seconds / smaller_size) * smaller_size
        if rounded >= size:
            whole, rest = divmod(rounded, size)
            part = rest // smaller_size
            return f"{whole}{unit}" + (f" {part}{smaller}" if part else "")
    raise AssertionError("unreachable: a minute or more has a unit")  # pragma: no cover


# Each unit, its size in seconds, and the unit shown beside it.
_UNITS = (
    ("d", 86_400, "h", 3_600),
    ("h", 3_600, "m", 60),
    ("m", 60, "s", 1),
)


def time_text(value: datetime | None) -> str:
    """An instant in RFC 3339 UTC, ``-`` for none."""
    return "-" if value is None else format_rfc3339(value)


def environment() -> Environment:
    """The environment of the report templates: HTML autoescaped, undefined names an error."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "html.j2"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_text
    env.filters["duration"] = duration_text
    env.filters["time"] = time_text
    return env
