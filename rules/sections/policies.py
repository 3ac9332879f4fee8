"""The ``escalation_policies`` section."""

from __future__ import annotations

from datetime import timedelta

import yaml

from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

_TARGET_KINDS = {k.value for k in TargetKind}
_MIN_DELAY = timedelta(minutes=1)
MAX_REPEAT = 10


def read_policies(ctx: FileContext, node: yaml.Node, key: str) -> list[EscalationPolicy]:
    """Reads the list under ``escalation_policies``."""
    return ctx.read_named(node, key, "policy", _read_policy)


def _read_policy(ctx: FileContext, node: yaml.Node, key: str) -> EscalationPolicy | None:
    reader = ctx.reader
    values = reader.mapping(
        node, key, {"name", "description", "levels", "repeat", "ack_timeout"}, {"name", "levels"}
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    description = read.optional(values, "description", key, reader.string)
    repeat = read.optional(
        values, "repeat", key, lambda n, k: read.integer(reader, n, k, 0, MAX_REPEAT)
    )
    ack_timeout = read.optional(
        values, "ack_timeout", key, lambda n, k: read.duration(reader, n, k, _MIN_DELAY)
    )
    levels: list[EscalationLevel] = []
    if "levels" in values:
        for item_key, item in reader.sequence(values["levels"], join(key, "levels")):
            level = _read_level(ctx, item, item_key)
            if level is not None:
                levels.append(level)
        if not levels and len(reader.problems) == before:
            reader.problem(values["levels"], join(key, "levels"), "give at least one level")
    if name is None or len(reader.problems) > before:
        return None
    return EscalationPolicy(name, description or "", tuple(levels), repeat or 0, ack_timeout)


def _read_level(ctx: FileContext, node: yaml.Node, key: str) -> EscalationLevel | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"delay", "targets"}, {"delay", "targets"})
    if values is None:
        return None
    before = len(reader.problems)
    delay = read.optional(
        values, "delay", key, lambda n, k: read.duration(reader, n, k, _MIN_DELAY)
    )
    targets: list[Target] = []
    if "targets" in values:
        for item_key, item in reader.sequence(values["targets"], join(key, "targets")):
            target = _read_target(ctx, item, item_key)
            if target is None:
                continue
            if target in targets:
                reader.problem(item, item_key, f"{target} is listed twice")
            targets.append(target)
        if not targets and len(reader.problems) == before:
            reader.problem(values["targets"], join(key, "targets"), "give at least one target")
    if delay is None or len(reader.problems) > before:
        return None
    return EscalationLevel(delay, tuple(targets))


def _read_target(ctx: FileContext, node: yaml.Node, key: str) -> Target | None:
    values = ctx.reader.mapping(node, key, _TARGET_KINDS)
    if values is None:
        return None
    if len(values) != 1:
        # An empty mapping, or two kinds at once; unknown keys were reported already.
        if len(values) > 1 or not node.value:
            kinds = ", ".join(sorted(_TARGET_KINDS))
            ctx.reader.problem(node, key, f"give exactly one of {kinds}")
        return None
    [(kind_name, value_node)] = values.items()
    target_key = join(key, kind_name)
    name = read.name(ctx.reader, value_node, target_key)
    if name is None:
        return None
    kind = TargetKind(kind_name)
    # The policy and schedule namespaces are the ledger kinds, as in ctx.define.
    ctx.refer(kind.value, name, value_node, target_key)
    return Target(kind, name)
