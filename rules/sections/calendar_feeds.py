"""The ``calendar_feeds`` section: the secret feed tokens derive from, and revocations."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import yaml

from rules.calendar_feeds import CalendarFeeds
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.secrets import read_secret
from rules.yamlread import join

# A generation is bumped by hand, once per revocation: a large number is a typo.
_MAX_GENERATION = 1_000_000


def read_calendar_feeds(ctx: FileContext, node: yaml.Node, key: str) -> CalendarFeeds | None:
    """Reads ``{secret, generations: {schedules: {NAME: N}, people: {NAME: N}}}``."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"secret", "generations"}, {"secret"})
    if values is None:
        return None
    before = len(reader.problems)
    secret = None
    if "secret" in values:
        secret = read_secret(reader, values["secret"], join(key, "secret"), ctx.env, ctx.base)
    schedules: Mapping[str, int] = MappingProxyType({})
    people: Mapping[str, int] = MappingProxyType({})
    if "generations" in values:
        gen_key = join(key, "generations")
        tables = reader.mapping(values["generations"], gen_key, {"schedules", "people"})
        for name, node_ in (tables or {}).items():
            kind = "schedule" if name == "schedules" else "person"
            table = _generations(ctx, node_, join(gen_key, name), kind)
            if name == "schedules":
                schedules = table
            else:
                people = table
    if secret is None or len(reader.problems) > before:
        return None
    return CalendarFeeds(secret, schedules, people)


def _generations(ctx: FileContext, node: yaml.Node, key: str, kind: str) -> Mapping[str, int]:
    """Reads ``{NAME: N}``: each name must be a defined ``kind``."""
    reader = ctx.reader
    found: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        reader.problem(node, key, f"must be a mapping of {kind} names to generations")
        return MappingProxyType(found)
    for name_node, value_node in node.value:
        name = read.name(reader, name_node, key)
        if name is None:
            continue
        item_key = join(key, name)
        if name in found:
            reader.problem(name_node, item_key, "key given twice")
            continue
        ctx.refer(kind, name, name_node, item_key)
        generation = read.integer(reader, value_node, item_key, 0, _MAX_GENERATION)
        if generation is not None:
            found[name] = generation
    return MappingProxyType(found)
