"""Readers for ``sla_escalation`` (teams, priority) and ``support_hours`` (services, teams)."""

from __future__ import annotations

import re

import yaml

from rules.calendar import WeeklyWindow
from rules.policies import Target, TargetKind
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sla_rules import SlaEscalation, SlaEscalationKind, SupportHours
from rules.yamlread import join

_FUNCTIONAL_KINDS = {"team", "schedule", "policy"}
_KINDS = [k.value for k in SlaEscalationKind]
_PRIORITY = re.compile(r"P[1-9][0-9]?", re.ASCII)
_WINDOW_KEYS = {"days", "from", "to"}


def read_sla_escalation(ctx: FileContext, node: yaml.Node, key: str) -> SlaEscalation | None:
    """Reads ``{functional: {team|schedule|policy: NAME}, hierarchical: PERSON, ...}``."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"functional", "hierarchical", "on_warning", "on_breach"})
    if values is None:
        return None
    before = len(reader.problems)
    functional: Target | None = None
    policy: str | None = None
    if "functional" in values:
        found = _functional(ctx, values["functional"], join(key, "functional"))
        if isinstance(found, Target):
            functional = found
        else:
            policy = found
    manager = read.optional(values, "hierarchical", key, lambda n, k: read.name(reader, n, k))
    if manager is not None:
        ctx.refer("person", manager, values["hierarchical"], join(key, "hierarchical"))
    on_warning = read.optional(values, "on_warning", key, lambda n, k: _kinds(ctx, n, k))
    on_breach = read.optional(values, "on_breach", key, lambda n, k: _kinds(ctx, n, k))
    if len(reader.problems) > before:
        return None
    default = SlaEscalation()
    return SlaEscalation(
        functional,
        policy,
        manager,
        default.on_warning if on_warning is None else on_warning,
        default.on_breach if on_breach is None else on_breach,
    )


def _functional(ctx: FileContext, node: yaml.Node, key: str) -> Target | str | None:
    values = ctx.reader.mapping(node, key, _FUNCTIONAL_KINDS)
    if values is None:
        return None
    if len(values) != 1:
        if len(values) > 1 or not getattr(node, "value", None):
            ctx.reader.problem(node, key, "give exactly one of policy, schedule, team")
        return None
    [(kind, value_node)] = values.items()
    name = read.name(ctx.reader, value_node, join(key, kind))
    if name is None:
        return None
    ctx.refer(kind, name, value_node, join(key, kind))
    return name if kind == "policy" else Target(TargetKind(kind), name)


def _kinds(ctx: FileContext, node: yaml.Node, key: str) -> frozenset[SlaEscalationKind] | None:
    found: set[SlaEscalationKind] = set()
    for item_key, text, item in ctx.reader.strings(node, key):
        if text not in _KINDS:
            ctx.reader.problem(item, item_key, f"must be one of {', '.join(_KINDS)}, not {text!r}")
            return None
        found.add(SlaEscalationKind(text))
    return frozenset(found)


def read_support_hours(ctx: FileContext, node: yaml.Node, key: str) -> SupportHours | None:
    """Reads ``{time_zone, days, from, to}`` or ``{time_zone, windows: [...]}``, with
    ``urgency`` / ``priority`` naming the incidents it limits (default: lowest urgency)."""
    reader = ctx.reader
    allowed = {"time_zone", "windows", "urgency", "priority"} | _WINDOW_KEYS
    values = reader.mapping(node, key, allowed, {"time_zone"})
    if values is None:
        return None
    before = len(reader.problems)
    zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    windows = _windows(ctx, node, values, key)
    urgencies: tuple[str, ...] | None = None
    if "urgency" in values:
        named = reader.strings(values["urgency"], join(key, "urgency"))
        for item_key, text, item in named:
            ctx.refer("urgency", text, item, item_key)
        urgencies = tuple(text for _, text, _ in named)
    priorities: set[str] = set()
    if "priority" in values:
        for item_key, text, item in reader.strings(values["priority"], join(key, "priority")):
            if not _PRIORITY.fullmatch(text):
                reader.problem(item, item_key, f"{text!r} is not a priority such as P4")
            priorities.add(text)
    if zone is None or windows is None or len(reader.problems) > before:
        return None
    return SupportHours(zone, windows, urgencies, frozenset(priorities))


def _windows(
    ctx: FileContext, node: yaml.Node, values: dict[str, yaml.Node], key: str
) -> tuple[WeeklyWindow, ...] | None:
    reader = ctx.reader
    inline = _WINDOW_KEYS & values.keys()
    if "windows" in values:
        if inline:
            reader.problem(node, key, "give windows, or days/from/to for one window, not both")
            return None
        found: list[WeeklyWindow] = []
        for item_key, item in reader.sequence(values["windows"], join(key, "windows")):
            window = read.weekly_window(reader, item, item_key)
            if window is None:
                return None
            found.append(window)
        if not found:
            reader.problem(values["windows"], join(key, "windows"), "give at least one window")
            return None
        return tuple(found)
    if not inline:
        reader.problem(node, key, "give days/from/to (one window) or windows (several)")
        return None
    one = yaml.MappingNode(
        "tag:yaml.org,2002:map",
        [(k, v) for k, v in node.value if getattr(k, "value", None) in _WINDOW_KEYS],
        node.start_mark,
        node.end_mark,
    )
    window = read.weekly_window(reader, one, key)
    return None if window is None else (window,)
