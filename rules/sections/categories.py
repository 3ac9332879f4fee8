"""The ``services`` and ``categories`` sections: what an incident is and what it affects."""

from __future__ import annotations

import yaml

from core.incident_requests import MAX_TITLE
from rules.categorise import CategoryRule
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.correlation import read_tuning_override
from rules.sections.sla_rules import read_support_hours
from rules.services import Service
from rules.templates import TemplateKind
from rules.yamlread import join

_RULE_KEYS = {
    "name",
    "matchers",
    "category",
    "service",
    "impact",
    "urgency",
    "team",
    "components",
    "tasks",
    "runbook",
    "title",
    "continue",
    "correlation",
}


def read_services(ctx: FileContext, node: yaml.Node, key: str) -> list[Service]:
    """Reads the list under ``services``."""
    return ctx.read_named(node, key, "service", _read_service)


def _read_service(ctx: FileContext, node: yaml.Node, key: str) -> Service | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "display_name", "description", "team", "components", "policy", "support_hours"},
        {"name"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    description = read.optional(values, "description", key, reader.string)
    team = _reference(ctx, values, "team", key, "team")
    components = _components(ctx, values, key)
    policy = _reference(ctx, values, "policy", key, "policy")
    hours = read.optional(values, "support_hours", key, lambda n, k: read_support_hours(ctx, n, k))
    if name is None or len(reader.problems) > before:
        return None
    return Service(name, display or name, description or "", team, components or (), policy, hours)


def read_categories(ctx: FileContext, node: yaml.Node, key: str) -> list[CategoryRule]:
    """Reads the ordered list under ``categories``."""
    return ctx.read_named(node, key, "category rule", _read_rule)


def _read_rule(ctx: FileContext, node: yaml.Node, key: str) -> CategoryRule | None:
    reader = ctx.reader
    values = reader.mapping(node, key, _RULE_KEYS, {"matchers"})
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    matchers = read.optional(values, "matchers", key, lambda n, k: read.matchers(reader, n, k))
    category = read.optional(values, "category", key, lambda n, k: read.name(reader, n, k))
    service = _reference(ctx, values, "service", key, "service")
    team = _reference(ctx, values, "team", key, "team")
    impact = _level(ctx, values, "impact", key)
    urgency = _level(ctx, values, "urgency", key)
    components = _components(ctx, values, key)
    tasks: list[str] = []
    if "tasks" in values:
        for task_key, task, node in reader.strings(values["tasks"], join(key, "tasks")):
            # A task's title as the operator API limits it (core.incident_requests).
            if not task.strip() or len(task) > MAX_TITLE:
                reader.problem(node, task_key, f"a task title is 1 to {MAX_TITLE} characters")
                continue
            tasks.append(task.strip())
    runbook = read.optional(values, "runbook", key, lambda n, k: read.url(reader, n, k))
    title = read.optional(
        values, "title", key, lambda n, k: read.template(ctx, n, k, TemplateKind.TITLE)
    )
    keep_going = read.optional(values, "continue", key, reader.boolean)
    correlation = read.optional(
        values, "correlation", key, lambda n, k: read_tuning_override(ctx, n, k)
    )
    if correlation is not None and category is None:
        # The timings follow the incident's category, which this rule must then name.
        reader.problem(
            values["correlation"], join(key, "correlation"), "needs `category` on the same rule"
        )
    if matchers is None or len(reader.problems) > before:
        return None
    return CategoryRule(
        matchers=matchers,
        name=name,
        category=category,
        service=service,
        impact=impact,
        urgency=urgency,
        team=team,
        components=components,
        tasks=tuple(tasks),
        runbook=runbook,
        title=title,
        continue_matching=bool(keep_going),
        correlation=correlation,
    )


def _reference(
    ctx: FileContext, values: dict[str, yaml.Node], field: str, key: str, kind: str
) -> str | None:
    node = values.get(field)
    if node is None:
        return None
    name = read.name(ctx.reader, node, join(key, field))
    if name is not None:
        ctx.refer(kind, name, node, join(key, field))
    return name


def _components(ctx: FileContext, values: dict[str, yaml.Node], key: str) -> tuple[str, ...] | None:
    node = values.get("components")
    if node is None:
        return None
    names: list[str] = []
    for item_key, component, item in ctx.reader.strings(node, join(key, "components")):
        ctx.refer("component", component, item, item_key)
        names.append(component)
    return tuple(names)


def _level(ctx: FileContext, values: dict[str, yaml.Node], field: str, key: str) -> str | None:
    node = values.get(field)
    if node is None:
        return None
    # A level by name (high) or number (1); which exist depends on the priority matrix,
    # which may be in another file, so the loader checks it once all files are read.
    text = ctx.reader.scalar_text(node, join(key, field), f"an {field} level such as high or 1")
    if text is not None:
        ctx.refer(field, text, node, join(key, field))
    return text
