"""The ``route`` section: the routing tree, read with its inherited settings filled in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import yaml

from rules.correlation import NO_OVERRIDE, TuningOverride
from rules.matchers import Matcher
from rules.routing import (
    DEFAULT_GROUP_BY,
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_REOPEN_WINDOW,
    GROUP_BY_ALL,
    Route,
)
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.correlation import read_tuning_override
from rules.yamlread import join

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
# Deeper trees are a mistake (or a YAML alias pointing at its own ancestor).
MAX_DEPTH = 16
_KEYS = {
    "name",
    "matchers",
    "policy",
    "group_by",
    "group_wait",
    "group_interval",
    "reopen_window",
    "continue",
    "routes",
    "correlation",
}


@dataclass(frozen=True, slots=True)
class _Inherited:
    key: str
    policy: str | None
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait: timedelta
    group_interval: timedelta
    reopen_window: timedelta
    correlation: TuningOverride = NO_OVERRIDE
    policy_from: str | None = None  # the path of the route that named the policy


def read_route(ctx: FileContext, node: yaml.Node, key: str) -> Route | None:
    """Reads the root route and its subtree; the root matches every alert.

    The root's ``policy`` is optional: without it, incidents that no route sends to a
    policy take their service's or team's, if any.
    """
    values = ctx.reader.mapping(node, key, _KEYS - {"matchers", "continue"})
    if values is None:
        return None
    root = _Inherited(
        key="{}",
        policy=None,
        group_by=DEFAULT_GROUP_BY,
        group_by_all=False,
        group_wait=DEFAULT_GROUP_WAIT,
        group_interval=DEFAULT_GROUP_INTERVAL,
        reopen_window=DEFAULT_REOPEN_WINDOW,
    )
    before = len(ctx.reader.problems)
    route = _read_node(ctx, node, values, key, root, 0, {}, is_root=True)
    if route is None or len(ctx.reader.problems) > before:
        return None
    return route


def _read_node(
    ctx: FileContext,
    node: yaml.Node,
    values: dict[str, yaml.Node],
    key: str,
    parent: _Inherited,
    depth: int,
    seen: dict[str, str],
    *,
    is_root: bool = False,
) -> Route | None:
    reader = ctx.reader
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    matchers: tuple[Matcher, ...] = ()
    if not is_root:
        matchers = (
            read.optional(values, "matchers", key, lambda n, k: read.matchers(reader, n, k)) or ()
        )
    policy = read.optional(values, "policy", key, lambda n, k: read.name(reader, n, k))
    if policy is not None:
        ctx.refer("policy", policy, values["policy"], join(key, "policy"))
    group_by, group_by_all = parent.group_by, parent.group_by_all
    if "group_by" in values:
        grouping = _group_by(ctx, values["group_by"], join(key, "group_by"))
        if grouping is not None:
            group_by, group_by_all = grouping
    timing: dict[str, timedelta] = {}
    for field in ("group_wait", "group_interval", "reopen_window"):
        given = read.optional(values, field, key, lambda n, k: read.duration(reader, n, k))
        timing[field] = getattr(parent, field) if given is None else given
    if timing["group_interval"] < timedelta(seconds=1):
        reader.problem(
            values.get("group_interval", node), join(key, "group_interval"), "must be at least 1s"
        )
    keep_going = read.optional(values, "continue", key, reader.boolean)
    own = read.optional(values, "correlation", key, lambda n, k: read_tuning_override(ctx, n, k))
    correlation = parent.correlation if own is None else parent.correlation.then(own)
    if is_root:
        route_key = parent.key
    elif name is not None:
        route_key = name
    else:
        route_key = parent.key + "/{" + ",".join(str(m) for m in matchers) + "}"
    if route_key in seen:
        # Group keys start with the route key; two routes with one key would share incidents.
        reader.problem(
            node, key, f"has the same key {route_key!r} as {seen[route_key]}; name one of them"
        )
    seen.setdefault(route_key, key)
    inherited = _Inherited(
        key=route_key,
        policy=policy or parent.policy,
        policy_from=key if policy is not None else parent.policy_from,
        group_by=group_by,
        group_by_all=group_by_all,
        group_wait=timing["group_wait"],
        group_interval=timing["group_interval"],
        reopen_window=timing["reopen_window"],
        correlation=correlation,
    )
    children = _children(ctx, values.get("routes"), join(key, "routes"), inherited, depth, seen)
    if len(reader.problems) > before:
        return None
    return Route(
        key=route_key,
        path=key,
        name=name,
        matchers=matchers,
        policy=inherited.policy,
        policy_from=inherited.policy_from,
        group_by=group_by,
        group_by_all=group_by_all,
        group_wait=inherited.group_wait,
        group_interval=inherited.group_interval,
        reopen_window=inherited.reopen_window,
        continue_matching=bool(keep_going),
        routes=children,
        correlation=correlation,
    )


def _children(
    ctx: FileContext,
    node: yaml.Node | None,
    key: str,
    parent: _Inherited,
    depth: int,
    seen: dict[str, str],
) -> tuple[Route, ...]:
    if node is None:
        return ()
    if depth + 1 > MAX_DEPTH:
        ctx.reader.problem(node, key, f"routes nest more than {MAX_DEPTH} deep")
        return ()
    children: list[Route] = []
    for item_key, item in ctx.reader.sequence(node, key):
        values = ctx.reader.mapping(item, item_key, _KEYS)
        if values is None:
            continue
        if "matchers" not in values:
            ctx.reader.problem(item, join(item_key, "matchers"), "is required below the root")
            continue
        child = _read_node(ctx, item, values, item_key, parent, depth + 1, seen)
        if child is not None:
            children.append(child)
    return tuple(children)


def _group_by(ctx: FileContext, node: yaml.Node, key: str) -> tuple[tuple[str, ...], bool] | None:
    labels: list[str] = []
    for item_key, label, item in ctx.reader.strings(node, key):
        if label != GROUP_BY_ALL and not _LABEL.fullmatch(label):
            ctx.reader.problem(item, item_key, f"{label!r} is not a valid label name")
            return None
        if label in labels:
            ctx.reader.problem(item, item_key, f"{label!r} is listed twice")
            return None
        labels.append(label)
    if GROUP_BY_ALL in labels:
        if len(labels) > 1:
            ctx.reader.problem(node, key, "'...' groups by every label; list nothing else with it")
            return None
        return (), True
    return tuple(labels), False
