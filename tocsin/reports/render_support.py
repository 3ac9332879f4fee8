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
from rules.durations import format_duration

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
    """A duration in the rules' syntax (``1h30m``), ``-`` for none."""
    return "-" if value is None else format_duration(value)


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
