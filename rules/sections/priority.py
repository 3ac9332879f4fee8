"""The ``priority`` section: the impact x urgency matrix and SLA targets per priority."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import yaml

from rules.durations import parse_duration
from rules.priority import (
    DEFAULT_SLA,
    LEVEL_NAMES,
    PriorityMatrix,
    PriorityRules,
    SlaClock,
    SlaTarget,
    additive_matrix,
    priority_name,
)
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.sla_rules import read_sla_escalation
from rules.yamlread import Reader, join

_PRIORITY = re.compile(r"P([1-9][0-9]?)", re.ASCII)
_PERCENT = re.compile(r"(\d{1,2}(?:\.\d+)?)%", re.ASCII)
_DEFAULT_WARN = (0.75,)
MAX_LEVELS = 9


def read_priority(ctx: FileContext, node: yaml.Node, key: str) -> PriorityRules | None:
    """Reads the matrix (default ``P = I + U - 1``) and the SLA targets."""
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"impact", "urgency", "matrix", "default_impact", "default_urgency"}
        | {"sla", "sla_escalation"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    impacts = read.optional(values, "impact", key, lambda n, k: _levels(reader, n, k))
    urgencies = read.optional(values, "urgency", key, lambda n, k: _levels(reader, n, k))
    impacts, urgencies = impacts or LEVEL_NAMES, urgencies or LEVEL_NAMES
    matrix = additive_matrix(impacts, urgencies)
    if "matrix" in values:
        cells = _cells(reader, values["matrix"], join(key, "matrix"), len(impacts), len(urgencies))
        if cells is None:
            return None
        matrix = PriorityMatrix(impacts, urgencies, cells, len(impacts), len(urgencies))
    default_impact = _default(reader, values, "default_impact", key, matrix.impact_level)
    default_urgency = _default(reader, values, "default_urgency", key, matrix.urgency_level)
    matrix = PriorityMatrix(
        impacts,
        urgencies,
        matrix.cells,
        default_impact or len(impacts),
        default_urgency or len(urgencies),
    )
    if "sla" in values:
        sla = _sla(reader, values["sla"], join(key, "sla"), matrix.levels)
    else:
        sla = tuple(t for t in DEFAULT_SLA if t.priority <= matrix.levels)
    escalation = read.optional(
        values, "sla_escalation", key, lambda n, k: read_sla_escalation(ctx, n, k)
    )
    if len(reader.problems) > before:
        return None
    return PriorityRules(matrix, sla, escalation)


def _levels(reader: Reader, node: yaml.Node, key: str) -> tuple[str, ...] | None:
    names = [name for _, name, _ in reader.strings(node, key)]
    if len(set(names)) != len(names):
        reader.problem(node, key, "level names must differ")
        return None
    if not 2 <= len(names) <= MAX_LEVELS:
        reader.problem(node, key, f"give 2 to {MAX_LEVELS} levels, most severe first")
        return None
    if any(n.isdigit() for n in names):
        reader.problem(node, key, "level names must not be numbers (numbers count from 1)")
        return None
    return tuple(names)


def _cells(
    reader: Reader, node: yaml.Node, key: str, rows: int, columns: int
) -> tuple[tuple[int, ...], ...] | None:
    cells: list[tuple[int, ...]] = []
    for row_key, row in reader.sequence(node, key):
        cells_in_row: list[int] = []
        for cell_key, cell in reader.sequence(row, row_key):
            text = reader.scalar_text(cell, cell_key, "a priority such as P1")
            found = _PRIORITY.fullmatch(text or "")
            if found is None:
                if text is not None:
                    reader.problem(cell, cell_key, f"{text!r} is not a priority such as P1")
                return None
            cells_in_row.append(int(found.group(1)))
        if len(cells_in_row) != columns:
            reader.problem(row, row_key, f"needs {columns} priorities, one per urgency level")
            return None
        cells.append(tuple(cells_in_row))
    if not isinstance(node, yaml.SequenceNode):
        return None
    if len(cells) != rows:
        reader.problem(node, key, f"needs {rows} rows, one per impact level")
        return None
    used = {p for row in cells for p in row}
    missing = sorted(set(range(1, max(used) + 1)) - used)
    if missing:
        names = ", ".join(priority_name(p) for p in missing)
        reader.problem(node, key, f"skips {names}: number priorities without gaps")
        return None
    return tuple(cells)


def _default(
    reader: Reader,
    values: dict[str, yaml.Node],
    field: str,
    key: str,
    level: Callable[[str], int | None],
) -> int | None:
    node = values.get(field)
    if node is None:
        return None
    text = reader.scalar_text(node, join(key, field), "a level name or number")
    if text is None:
        return None
    found = level(text)
    if found is None:
        reader.problem(node, join(key, field), f"{text!r} is not one of the levels")
    return found


def _sla(reader: Reader, node: yaml.Node, key: str, levels: int) -> tuple[SlaTarget, ...]:
    names = {priority_name(p) for p in range(1, levels + 1)}
    values = reader.mapping(node, key, names)
    targets: list[SlaTarget] = []
    for name, target_node in (values or {}).items():
        target = _target(reader, target_node, join(key, name), int(name[1:]))
        if target is not None:
            targets.append(target)
    return tuple(sorted(targets, key=lambda t: t.priority))


def _target(reader: Reader, node: yaml.Node, key: str, priority: int) -> SlaTarget | None:
    values = reader.mapping(node, key, {"acknowledge", "resolve", "warn_at"})
    if values is None:
        return None
    if not {"acknowledge", "resolve"} & values.keys():
        reader.problem(node, key, "give acknowledge, resolve or both")
        return None
    warn: tuple[float | timedelta, ...] = _DEFAULT_WARN
    if "warn_at" in values:
        warn = _warnings(reader, values["warn_at"], join(key, "warn_at")) or ()
    acknowledge = read.optional(values, "acknowledge", key, lambda n, k: _clock(reader, n, k, warn))
    resolve = read.optional(values, "resolve", key, lambda n, k: _clock(reader, n, k, warn))
    if acknowledge is not None and resolve is not None and resolve.within <= acknowledge.within:
        reader.problem(values["resolve"], join(key, "resolve"), "must be longer than acknowledge")
        return None
    return SlaTarget(priority, acknowledge, resolve)


def _clock(
    reader: Reader, node: yaml.Node, key: str, warn: tuple[float | timedelta, ...]
) -> SlaClock | None:
    if isinstance(node, yaml.MappingNode):
        values = reader.mapping(node, key, {"within", "warn_at"}, {"within"})
        if values is None or "within" not in values:
            return None
        if "warn_at" in values:
            warn = _warnings(reader, values["warn_at"], join(key, "warn_at")) or ()
        node, key = values["within"], join(key, "within")
    within = read.duration(reader, node, key, timedelta(minutes=1))
    if within is None:
        return None
    times: list[timedelta] = []
    for threshold in warn:
        at = within * threshold if isinstance(threshold, float) else threshold
        if at >= within:
            reader.problem(node, key, f"a warn_at of {threshold} is not before the target")
            return None
        times.append(at)
    return SlaClock(within, tuple(sorted(set(times))))


def _warnings(reader: Reader, node: yaml.Node, key: str) -> tuple[float | timedelta, ...] | None:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    found: list[float | timedelta] = []
    for index, item in enumerate(items):
        item_key = f"{key}[{index}]" if isinstance(node, yaml.SequenceNode) else key
        text = reader.scalar_text(item, item_key, "a fraction, a percentage or a duration")
        if text is None:
            return None
        threshold = _threshold(text)
        if threshold is None:
            reader.problem(item, item_key, f"{text!r}: write a fraction (0.75), 75% or a duration")
            return None
        found.append(threshold)
    return tuple(found)


def _threshold(text: str) -> float | timedelta | None:
    percent = _PERCENT.fullmatch(text)
    if percent is not None:
        value = float(percent.group(1)) / 100
        return value if 0 < value < 1 else None
    try:
        fraction = float(text)
    except ValueError:
        fraction = None
    if fraction is not None:
        return fraction if 0 < fraction < 1 else None
    try:
        return parse_duration(text)
    except ValueError:
        return None
