"""The ``lifecycle`` section: the resolution codes to choose from, the auto-close delay."""

from __future__ import annotations

import yaml

from core.lifecycle import DEFAULT_AUTO_CLOSE_AFTER, DEFAULT_RESOLUTION_CODES, LifecyclePolicy
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

# More would not fit a menu; the API checks a code against the list on every resolve.
_MAX_CODES = 100


def read_lifecycle(ctx: FileContext, node: yaml.Node, key: str) -> LifecyclePolicy | None:
    """Reads the ``lifecycle`` section; absent keys keep their defaults (ServiceNow's)."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"resolution_codes", "auto_close_after"})
    if values is None:
        return None
    before = len(reader.problems)
    codes = DEFAULT_RESOLUTION_CODES
    if "resolution_codes" in values:
        codes = _codes(ctx, values["resolution_codes"], join(key, "resolution_codes"))
    auto_close_after = read.optional(
        values, "auto_close_after", key, lambda n, k: read.duration(reader, n, k)
    )
    if len(reader.problems) > before:
        return None
    return LifecyclePolicy(
        resolution_codes=codes,
        auto_close_after=DEFAULT_AUTO_CLOSE_AFTER if auto_close_after is None else auto_close_after,
    )


def _codes(ctx: FileContext, node: yaml.Node, key: str) -> tuple[str, ...]:
    """Reads the list of resolution codes: names, each once, at least one."""
    reader = ctx.reader
    codes: dict[str, str] = {}
    items = list(reader.sequence(node, key))
    if isinstance(node, yaml.SequenceNode) and not items:
        reader.problem(node, key, "must list at least one code (a resolve needs one)")
    if len(items) > _MAX_CODES:
        reader.problem(node, key, f"at most {_MAX_CODES} codes, not {len(items)}")
        return ()
    for item_key, item in items:
        code = read.name(reader, item, item_key)
        if code is None:
            continue
        if code in codes:
            reader.problem(item, item_key, f"{code!r} is also listed at {codes[code]}")
            continue
        codes[code] = item_key
    return tuple(codes)
