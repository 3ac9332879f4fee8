"""The ``schedules`` section: on-call layers, rotations, restrictions and overrides."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import yaml

from rules.calendar import WeeklyWindow
from rules.schedules import Layer, Override, Rotation, Schedule
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

_MIN_TURN = timedelta(hours=1)


def read_schedules(ctx: FileContext, node: yaml.Node, key: str) -> list[Schedule]:
    """Reads the list under ``schedules``."""
    return ctx.read_named(node, key, "schedule", _read_schedule)


def _read_schedule(ctx: FileContext, node: yaml.Node, key: str) -> Schedule | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "display_name", "time_zone", "layers", "overrides"},
        {"name", "time_zone", "layers"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    display = read.optional(values, "display_name", key, reader.string)
    zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    if zone is None:
        return None  # layers and overrides are read in the zone; without it, stop here
    layers: list[Layer] = []
    if "layers" in values:
        layer_names: set[str] = set()
        for item_key, item in reader.sequence(values["layers"], join(key, "layers")):
            layer = _read_layer(ctx, item, item_key, zone)
            if layer is None:
                continue
            if layer.name in layer_names:
                reader.problem(item, join(item_key, "name"), f"layer {layer.name!r} is named twice")
            layer_names.add(layer.name)
            layers.append(layer)
        if not layers and len(reader.problems) == before:
            reader.problem(values["layers"], join(key, "layers"), "give at least one layer")
    overrides: list[Override] = []
    if "overrides" in values:
        for item_key, item in reader.sequence(values["overrides"], join(key, "overrides")):
            override = _read_override(ctx, item, item_key, zone)
            if override is not None:
                overrides.append(override)
    if name is None or len(reader.problems) > before:
        return None
    return Schedule(name, display or name, zone, tuple(layers), tuple(overrides))


def _read_layer(ctx: FileContext, node: yaml.Node, key: str, zone: ZoneInfo) -> Layer | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"name", "members", "rotation", "restrictions", "time_zone", "start", "end"},
        {"name", "members", "rotation"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    layer_zone = read.optional(values, "time_zone", key, lambda n, k: read.zone(reader, n, k))
    zone = layer_zone or zone
    members = _members(ctx, values.get("members"), join(key, "members"))
    rotation = read.optional(values, "rotation", key, lambda n, k: _rotation(ctx, n, k, zone))
    restrictions: list[WeeklyWindow] = []
    if "restrictions" in values:
        for item_key, item in reader.sequence(values["restrictions"], join(key, "restrictions")):
            window = read.weekly_window(reader, item, item_key)
            if window is not None:
                restrictions.append(window)
    start = read.optional(values, "start", key, lambda n, k: read.instant(reader, n, k, zone))
    end = read.optional(values, "end", key, lambda n, k: read.instant(reader, n, k, zone))
    if start is not None and end is not None and end <= start:
        reader.problem(values["end"], join(key, "end"), "must be after start")
    if name is None or rotation is None or len(reader.problems) > before:
        return None
    return Layer(name, members, rotation, zone, tuple(restrictions), start, end)


def _members(ctx: FileContext, node: yaml.Node | None, key: str) -> tuple[str, ...]:
    if node is None:
        return ()
    members: list[str] = []
    for item_key, member, item in ctx.reader.strings(node, key):
        # A person may take two turns in one rotation (a, b, a, c): that is allowed.
        ctx.refer("person", member, item, item_key)
        members.append(member)
    if not members and isinstance(node, yaml.SequenceNode) and not node.value:
        ctx.reader.problem(node, key, "give at least one member")
    return tuple(members)


def _rotation(ctx: FileContext, node: yaml.Node, key: str, zone: ZoneInfo) -> Rotation | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"every", "handoff"}, {"every", "handoff"})
    if values is None:
        return None
    length = read.optional(
        values, "every", key, lambda n, k: read.duration(reader, n, k, _MIN_TURN)
    )
    handoff: datetime | None = read.optional(
        values, "handoff", key, lambda n, k: read.instant(reader, n, k, zone)
    )
    if length is None or handoff is None:
        return None
    return Rotation(length, handoff.astimezone(zone))


def _read_override(ctx: FileContext, node: yaml.Node, key: str, zone: ZoneInfo) -> Override | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"person", "start", "end"}, {"person", "start", "end"})
    if values is None or len(values) != 3:
        return None
    person = read.name(reader, values["person"], join(key, "person"))
    if person is not None:
        ctx.refer("person", person, values["person"], join(key, "person"))
    start = read.instant(reader, values["start"], join(key, "start"), zone)
    end = read.instant(reader, values["end"], join(key, "end"), zone)
    if start is not None and end is not None and end <= start:
        reader.problem(values["end"], join(key, "end"), "must be after start")
        return None
    if person is None or start is None or end is None:
        return None
    return Override(person, start, end)
