"""The ``status_page`` and ``templates`` sections."""

from __future__ import annotations

from dataclasses import fields
from datetime import date

import yaml

from rules import defaults
from rules.calendar import parse_date
from rules.sections import values as read
from rules.sections.channels import notification
from rules.sections.context import FileContext
from rules.status import (
    COMPONENT_STATUSES,
    DEFAULT_COMPONENT_STATUS,
    PRIORITIES,
    Component,
    ComponentGroup,
    PublicTemplates,
    Publishing,
    StatusPage,
)
from rules.templates import IncidentTemplates, TemplateKind
from rules.yamlread import Reader, join

_PUBLIC_FIELDS = tuple(f.name for f in fields(PublicTemplates))


def read_status_page(ctx: FileContext, node: yaml.Node, key: str) -> StatusPage | None:
    """Reads the page settings, its groups and components, and its public text."""
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "url", "time_zone", "groups", "components", "templates", "publish"},
        {"name"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, reader.string)
    url = read.optional(values, "url", key, lambda n, k: _page_url(reader, n, k))
    zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    groups: list[ComponentGroup] = []
    if "groups" in values:
        for item_key, item in reader.sequence(values["groups"], join(key, "groups")):
            group = _group(ctx, item, item_key)
            if group is not None:
                ctx.define("group", group.name, item, item_key, group)
                groups.append(group)
    components: list[Component] = []
    if "components" in values:
        for item_key, item in reader.sequence(values["components"], join(key, "components")):
            component = _component(ctx, item, item_key)
            if component is not None:
                ctx.define("component", component.name, item, item_key, component)
                components.append(component)
    templates = read.optional(values, "templates", key, lambda n, k: _public(ctx, n, k))
    publishing = read.optional(values, "publish", key, lambda n, k: _publishing(ctx, n, k))
    if name is None or len(reader.problems) > before:
        return None
    return StatusPage(
        name=name,
        url=url or "",
        time_zone=zone or defaults.status_page(ctx.templates).time_zone,
        components=tuple(components),
        groups=tuple(groups),
        templates=templates or defaults.public_templates(ctx.templates),
        publishing=publishing or Publishing(),
    )


def _publishing(ctx: FileContext, node: yaml.Node, key: str) -> Publishing | None:
    """Reads ``publish``: which priorities and categories go public, and the status map."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"priorities", "categories", "component_status"})
    if values is None:
        return None
    before = len(reader.problems)
    priorities = None
    if "priorities" in values:
        priorities = frozenset(
            _priority(ctx, item, item_key, value)
            for item_key, value, item in reader.strings(
                values["priorities"], join(key, "priorities")
            )
        )
    categories = None
    if "categories" in values:
        found = reader.strings(values["categories"], join(key, "categories"))
        categories = frozenset(value for _, value, _ in found)
    statuses = dict(DEFAULT_COMPONENT_STATUS)
    if "component_status" in values:
        map_key = join(key, "component_status")
        pairs = reader.mapping(values["component_status"], map_key, set(PRIORITIES))
        for priority, item in (pairs or {}).items():
            item_key = join(map_key, priority)
            status = reader.choice(item, item_key, str, list(COMPONENT_STATUSES))
            if status is not None:
                statuses[priority] = status
    if len(reader.problems) > before:
        return None
    return Publishing(priorities, categories, statuses)


def _priority(ctx: FileContext, node: yaml.Node, key: str, value: str) -> str:
    if value not in PRIORITIES:
        ctx.reader.problem(node, key, f"{value!r} is not a priority (P1 to P9)")
    return value


# Characters a URL never holds unescaped (RFC 3986): the page's URL goes into every
# link, feed and JSON document, so one of these would break out of them.
_NOT_IN_URL = frozenset(' "<>\\^`{|}')


def _page_url(reader: Reader, node: yaml.Node, key: str) -> str | None:
    """The page's public URL: an absolute http(s) URL of URL characters only."""
    text = read.url(reader, node, key)
    if text is not None and any(
        c in _NOT_IN_URL or ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in text
    ):
        reader.problem(node, key, f"{text!r} is not a valid URL: escape spaces, quotes and <>")
        return None
    return text


def _group(ctx: FileContext, node: yaml.Node, key: str) -> ComponentGroup | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"name", "display_name", "description"}, {"name"})
    if values is None:
        return None
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    description = read.optional(values, "description", key, reader.string)
    return None if name is None else ComponentGroup(name, display or name, description or "")


def _component(ctx: FileContext, node: yaml.Node, key: str) -> Component | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {
            "name",
            "display_name",
            "description",
            "group",
            "showcase",
            "only_show_if_degraded",
            "start_date",
        },
        {"name", "display_name"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    description = read.optional(values, "description", key, reader.string)
    group = read.optional(values, "group", key, lambda n, k: read.name(reader, n, k))
    if group is not None:
        ctx.refer("group", group, values["group"], join(key, "group"))
    showcase = read.optional(values, "showcase", key, reader.boolean)
    only_degraded = read.optional(values, "only_show_if_degraded", key, reader.boolean)
    start = read.optional(values, "start_date", key, lambda n, k: _date(ctx, n, k))
    if name is None or display is None or len(reader.problems) > before:
        return None
    return Component(
        name=name,
        display_name=display,
        description=description or "",
        group=group,
        showcase=True if showcase is None else showcase,
        only_show_if_degraded=bool(only_degraded),
        start_date=start,
    )


def _date(ctx: FileContext, node: yaml.Node, key: str) -> date | None:
    text = ctx.reader.scalar_text(node, key, "a date such as 2026-01-05")
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        ctx.reader.problem(node, key, str(exc))
        return None


def _public(ctx: FileContext, node: yaml.Node, key: str) -> PublicTemplates | None:
    values = ctx.reader.mapping(node, key, set(_PUBLIC_FIELDS))
    if values is None:
        return None
    base = defaults.public_templates(ctx.templates)
    compiled = {}
    for field in _PUBLIC_FIELDS:
        given = read.optional(
            values, field, key, lambda n, k: read.template(ctx, n, k, TemplateKind.PUBLIC)
        )
        compiled[field] = given or getattr(base, field)
    return PublicTemplates(**compiled)


def read_templates(ctx: FileContext, node: yaml.Node, key: str) -> IncidentTemplates | None:
    """Reads the default incident title and notification text."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"title", "notification"})
    if values is None:
        return None
    before = len(reader.problems)
    title = read.optional(
        values, "title", key, lambda n, k: read.template(ctx, n, k, TemplateKind.TITLE)
    )
    message = read.optional(values, "notification", key, lambda n, k: notification(ctx, n, k))
    if len(reader.problems) > before:
        return None
    base = defaults.incident_templates(ctx.templates)
    return IncidentTemplates(title or base.title, message or base.notification)
