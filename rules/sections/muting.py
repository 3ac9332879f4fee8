"""The ``silences``, ``maintenance_windows`` and ``inhibit_rules`` sections."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import yaml

from rules.calendar import WeeklyWindow
from rules.cron import CronSpec, parse_cron
from rules.matchers import Matcher
from rules.muting import InhibitRule, MaintenanceWindow, Silence
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
# Longer than a year is a mistake: the window would be open for good.
_MAX_CRON_DURATION = timedelta(days=366)
_UTC = ZoneInfo("UTC")


def read_silences(ctx: FileContext, node: yaml.Node, key: str) -> list[Silence]:
    """Reads the list under ``silences``."""
    return ctx.read_named(node, key, "silence", _read_silence)


def _read_silence(ctx: FileContext, node: yaml.Node, key: str) -> Silence | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "matchers", "starts_at", "ends_at", "comment", "created_by"},
        {"matchers", "starts_at", "ends_at", "comment"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    matchers = _muting_matchers(ctx, values, "matchers", key)
    starts = read.optional(values, "starts_at", key, lambda n, k: read.instant(reader, n, k, None))
    ends = read.optional(values, "ends_at", key, lambda n, k: read.instant(reader, n, k, None))
    if starts is not None and ends is not None and ends <= starts:
        reader.problem(values["ends_at"], join(key, "ends_at"), "must be after starts_at")
    comment = read.optional(values, "comment", key, reader.string)
    created_by = read.optional(values, "created_by", key, reader.string)
    if matchers is None or starts is None or ends is None or comment is None:
        return None
    if len(reader.problems) > before:
        return None
    return Silence(matchers, starts, ends, comment or "", created_by or "rules", name)


def read_maintenance(ctx: FileContext, node: yaml.Node, key: str) -> list[MaintenanceWindow]:
    """Reads the list under ``maintenance_windows``."""
    return ctx.read_named(node, key, "maintenance window", _read_window)


_WINDOW_KEYS = {
    "name",
    "matchers",
    "time_zone",
    "weekly",
    "cron",
    "duration",
    "from",
    "to",
    "components",
    "comment",
}
_SCHEDULES = "give exactly one schedule: weekly, cron (with duration), or from and to"


def _read_window(ctx: FileContext, node: yaml.Node, key: str) -> MaintenanceWindow | None:
    reader = ctx.reader
    values = reader.mapping(node, key, _WINDOW_KEYS, {"name", "matchers"})
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    matchers = _muting_matchers(ctx, values, "matchers", key)
    zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    one_off = "from" in values or "to" in values
    schedule = MaintenanceWindow(name or "", (), zone or _UTC)
    if sum(("weekly" in values, "cron" in values, one_off)) != 1:
        reader.problem(node, key, _SCHEDULES)
    elif one_off:
        schedule = _one_off(ctx, node, values, key, zone) or schedule
    else:
        if "time_zone" not in values:
            reader.problem(node, join(key, "time_zone"), "is required with weekly or cron")
        if "weekly" in values:
            schedule = _weekly(ctx, values, key) or schedule
        else:
            schedule = _cron_window(ctx, node, values, key) or schedule
    components: list[str] = []
    if "components" in values:
        for item_key, component, item in reader.strings(
            values["components"], join(key, "components")
        ):
            ctx.refer("component", component, item, item_key)
            components.append(component)
    comment = read.optional(values, "comment", key, reader.string)
    if name is None or matchers is None or len(reader.problems) > before:
        return None
    return replace(
        schedule,
        name=name,
        matchers=matchers,
        time_zone=zone or _UTC,
        components=tuple(components),
        comment=comment or "",
    )


def _weekly(ctx: FileContext, values: dict[str, yaml.Node], key: str) -> MaintenanceWindow | None:
    reader = ctx.reader
    before = len(reader.problems)
    if "duration" in values:
        reader.problem(values["duration"], join(key, "duration"), "only cron windows take one")
    weekly: list[WeeklyWindow] = []
    for item_key, item in reader.sequence(values["weekly"], join(key, "weekly")):
        window = read.weekly_window(reader, item, item_key)
        if window is not None:
            weekly.append(window)
    if not weekly and len(reader.problems) == before:
        reader.problem(values["weekly"], join(key, "weekly"), "give at least one window")
    return MaintenanceWindow("", (), _UTC, weekly=tuple(weekly)) if weekly else None


def _cron_window(
    ctx: FileContext, node: yaml.Node, values: dict[str, yaml.Node], key: str
) -> MaintenanceWindow | None:
    reader = ctx.reader
    cron = _cron(ctx, values["cron"], join(key, "cron"))
    if "duration" not in values:
        reader.problem(node, join(key, "duration"), "is required with cron")
        return None
    duration = read.duration(
        reader, values["duration"], join(key, "duration"), timedelta(minutes=1)
    )
    if duration is not None and duration > _MAX_CRON_DURATION:
        reader.problem(values["duration"], join(key, "duration"), "must be at most 366d")
        return None
    if cron is None or duration is None:
        return None
    return MaintenanceWindow("", (), _UTC, cron=cron, duration=duration)


def _one_off(
    ctx: FileContext,
    node: yaml.Node,
    values: dict[str, yaml.Node],
    key: str,
    zone: ZoneInfo | None,
) -> MaintenanceWindow | None:
    reader = ctx.reader
    if "duration" in values:
        reader.problem(values["duration"], join(key, "duration"), "only cron windows take one")
    missing = [end for end in ("from", "to") if end not in values]
    for end in missing:
        reader.problem(node, join(key, end), "is required with a one-off window")
    if missing:
        return None
    # Instants without an offset are wall-clock times in time_zone, which they then need.
    starts = read.instant(reader, values["from"], join(key, "from"), zone)
    ends = read.instant(reader, values["to"], join(key, "to"), zone)
    if starts is None or ends is None:
        return None
    if ends <= starts:
        reader.problem(values["to"], join(key, "to"), "must be after from")
        return None
    return MaintenanceWindow("", (), _UTC, starts_at=starts, ends_at=ends)


def _cron(ctx: FileContext, node: yaml.Node, key: str) -> CronSpec | None:
    text = ctx.reader.string(node, key)
    if text is None:
        return None
    try:
        return parse_cron(text)
    except ValueError as exc:
        ctx.reader.problem(node, key, str(exc))
        return None


def read_inhibit_rules(ctx: FileContext, node: yaml.Node, key: str) -> list[InhibitRule]:
    """Reads the list under ``inhibit_rules``."""
    return ctx.read_named(node, key, "inhibit rule", _read_inhibit_rule)


def _read_inhibit_rule(ctx: FileContext, node: yaml.Node, key: str) -> InhibitRule | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "source_matchers", "target_matchers", "equal"},
        {"source_matchers", "target_matchers"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    sources = _non_empty_matchers(ctx, values, "source_matchers", key)
    targets = _non_empty_matchers(ctx, values, "target_matchers", key)
    equal: list[str] = []
    if "equal" in values:
        for item_key, label, item in reader.strings(values["equal"], join(key, "equal")):
            if not _LABEL.fullmatch(label):
                reader.problem(item, item_key, f"{label!r} is not a valid label name")
            equal.append(label)
    if sources is None or targets is None or len(reader.problems) > before:
        return None
    return InhibitRule(sources, targets, tuple(equal), name)


def _non_empty_matchers(
    ctx: FileContext, values: dict[str, yaml.Node], field: str, key: str
) -> tuple[Matcher, ...] | None:
    node = values.get(field)
    if node is None:
        return None
    found = read.matchers(ctx.reader, node, join(key, field))
    if found is not None and not found:
        ctx.reader.problem(node, join(key, field), "give at least one matcher")
        return None
    return found


def _muting_matchers(
    ctx: FileContext, values: dict[str, yaml.Node], field: str, key: str
) -> tuple[Matcher, ...] | None:
    found = _non_empty_matchers(ctx, values, field, key)
    if found is not None and all(m.matches({}) for m in found):
        # Alertmanager's rule: otherwise the silence would mute every alert there is.
        ctx.reader.problem(
            values[field],
            join(key, field),
            "at least one matcher must not match an empty value, or every alert is muted",
        )
        return None
    return found
