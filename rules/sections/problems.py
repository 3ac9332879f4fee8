"""The ``problems`` section: when recurring incidents become problem candidates."""

from __future__ import annotations

from datetime import timedelta

import yaml

from core.problem_candidates import DEFAULT_COUNT, DEFAULT_WITHIN, ProblemRules, Recurrence
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

# Two incidents already recur; past a thousand nobody needs telling.
_MIN_COUNT, _MAX_COUNT = 2, 1_000
# A period shorter than a minute sees no recurrence; past a year the scan grows for nothing.
_MIN_WITHIN = timedelta(minutes=1)
_MAX_WITHIN = timedelta(days=366)


def read_problems(ctx: FileContext, node: yaml.Node, key: str) -> ProblemRules | None:
    """Reads ``problems: {recurrence: {count, within}}``; absent keys keep their defaults."""
    reader = ctx.reader
    values = reader.mapping(node, key, {"recurrence"})
    if values is None:
        return None
    if "recurrence" not in values:
        return ProblemRules()
    recurrence_key = join(key, "recurrence")
    given = reader.mapping(values["recurrence"], recurrence_key, {"count", "within"})
    if given is None:
        return None
    before = len(reader.problems)
    count = read.optional(
        given,
        "count",
        recurrence_key,
        lambda n, k: read.integer(reader, n, k, _MIN_COUNT, _MAX_COUNT),
    )
    within = read.optional(
        given, "within", recurrence_key, lambda n, k: read.duration(reader, n, k, _MIN_WITHIN)
    )
    if within is not None and within > _MAX_WITHIN:
        reader.problem(given["within"], join(recurrence_key, "within"), "must be at most 366d")
    if len(reader.problems) > before:
        return None
    return ProblemRules(
        Recurrence(
            DEFAULT_COUNT if count is None else count,
            DEFAULT_WITHIN if within is None else within,
        )
    )
