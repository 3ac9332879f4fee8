"""Readers for the kinds of values that recur across sections: names, durations, matchers,
zones, instants, clock windows, URLs and templates. Each reports its own mistakes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

from rules.calendar import (
    MINUTES_PER_DAY,
    WeeklyWindow,
    parse_clock,
    parse_instant,
    parse_weekdays,
    parse_zone,
)
from rules.durations import format_duration, parse_duration
from rules.matchers import Matcher, parse_matcher
from rules.sections.context import FileContext
from rules.templates import Template, TemplateKind
from rules.yamlread import Reader, join

T = TypeVar("T")

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}", re.ASCII)
NAME_RULE = "use lower-case letters, digits, '_', '.', '-' (at most 63)"


def optional(
    values: Mapping[str, yaml.Node],
    name: str,
    key: str,
    read: Callable[[yaml.Node, str], T | None],
) -> T | None:
    """Reads ``values[name]`` with ``read`` if present; None if absent or invalid."""
    node = values.get(name)
    return None if node is None else read(node, join(key, name))


def name(reader: Reader, node: yaml.Node, key: str) -> str | None:
    """Reads an identifier that other parts of the rules refer to."""
    value = reader.string(node, key)
    if value is not None and not NAME.fullmatch(value):
        reader.problem(node, key, f"{value!r} is not a valid name: {NAME_RULE}")
        return None
    return value


def duration(
    reader: Reader, node: yaml.Node, key: str, minimum: timedelta = timedelta(0)
) -> timedelta | None:
    """Reads a Prometheus-style duration string at or above ``minimum``."""
    text = reader.string(node, key)
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as exc:
        reader.problem(node, key, str(exc))
        return None
    if value < minimum:
        reader.problem(node, key, f"must be at least {format_duration(minimum)}")
        return None
    return value


def matchers(reader: Reader, node: yaml.Node, key: str) -> tuple[Matcher, ...] | None:
    """Reads a list of Alertmanager matcher strings such as ``severity=~"crit|page"``."""
    found: list[Matcher] = []
    ok = True
    for item_key, item in reader.sequence(node, key):
        text = reader.string(item, item_key)
        if text is None:
            ok = False
            continue
        try:
            found.append(parse_matcher(text))
        except ValueError as exc:
            reader.problem(item, item_key, str(exc))
            ok = False
    return tuple(found) if ok and isinstance(node, yaml.SequenceNode) else None


def zone(reader: Reader, node: yaml.Node, key: str) -> ZoneInfo | None:
    """Reads an IANA time zone name."""
    text = reader.string(node, key)
    if text is None:
        return None
    try:
        return parse_zone(text)
    except ValueError as exc:
        reader.problem(node, key, str(exc))
        return None


def instant(reader: Reader, node: yaml.Node, key: str, in_zone: ZoneInfo | None) -> datetime | None:
    """Reads an ISO 8601 date-time; one without an offset is wall-clock time in ``in_zone``."""
    text = reader.scalar_text(node, key, "an ISO 8601 date-time")
    if text is None:
        return None
    try:
        return parse_instant(text, in_zone)
    except ValueError as exc:
        reader.problem(node, key, str(exc))
        return None


def weekly_window(reader: Reader, node: yaml.Node, key: str) -> WeeklyWindow | None:
    """Reads ``{days: [mon-fri], from: "09:00", to: "17:00"}``; days default to all."""
    values = reader.mapping(node, key, {"days", "from", "to"})
    if values is None:
        return None
    days = frozenset(range(7))
    if "days" in values:
        names = reader.strings(values["days"], join(key, "days"))
        try:
            days = parse_weekdays(n for _, n, _ in names)
        except ValueError as exc:
            reader.problem(values["days"], join(key, "days"), str(exc))
            return None
        if not days:
            reader.problem(values["days"], join(key, "days"), "name at least one day")
            return None
    start = _clock(reader, values, "from", key, 0)
    end = _clock(reader, values, "to", key, MINUTES_PER_DAY)
    if start is None or end is None:
        return None
    if start == end:
        reader.problem(node, key, "from and to are equal: the window would be empty")
        return None
    return WeeklyWindow(days, start, end)


def _clock(
    reader: Reader, values: Mapping[str, yaml.Node], field: str, key: str, default: int
) -> int | None:
    node = values.get(field)
    if node is None:
        return default
    # scalar_text reads what was written: YAML 1.1 would make an unquoted 17:00 the
    # base-60 number 1020.
    text = reader.scalar_text(node, join(key, field), 'a time of day such as "09:00"')
    if text is None:
        return None
    try:
        return parse_clock(text, allow_24=field == "to")
    except ValueError as exc:
        reader.problem(node, join(key, field), str(exc))
        return None


def url(reader: Reader, node: yaml.Node, key: str) -> str | None:
    """Reads an absolute http(s) URL."""
    text = reader.string(node, key)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        reader.problem(node, key, f"{text!r} is not an http:// or https:// URL")
        return None
    return text


def template(ctx: FileContext, node: yaml.Node, key: str, kind: TemplateKind) -> Template | None:
    """Reads and compiles a template; compile errors are problems at the template's line."""
    source = ctx.reader.string(node, key)
    if source is None:
        return None
    try:
        return ctx.templates.compile(source, kind)
    except ValueError as exc:
        ctx.reader.problem(node, key, str(exc))
        return None


def integer(reader: Reader, node: yaml.Node, key: str, low: int, high: int) -> int | None:
    """Reads a whole number from ``low`` to ``high``."""
    value = reader.number(node, key, minimum=low, integer=True)
    if value is None or not reader.maximum(node, key, value, high):
        return None
    return int(value)
