"""The ``notifications`` section: bundling, channel pausing and per-channel concurrency."""

from __future__ import annotations

from datetime import timedelta

import yaml

from rules.durations import format_duration
from rules.notifications import Bundling, NotificationTuning, Pausing
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

# A person reads few messages one by one, but a channel paged as itself may be read by a
# machine (a ticketing webhook, the paging bench) that wants each: up to 100,000 a window.
_MAX_BUNDLE = 100_000
_MIN_WINDOW, _MAX_WINDOW = timedelta(seconds=1), timedelta(hours=1)
_MAX_FAILURES = 1_000
_MIN_BACKOFF, _MAX_BACKOFF = timedelta(seconds=1), timedelta(days=1)
_MAX_CONCURRENCY = 256


def read_notifications(ctx: FileContext, node: yaml.Node, key: str) -> NotificationTuning | None:
    """Reads ``notifications: {bundle: {max, window}, pause: {...}, concurrency}``.

    Absent keys keep their defaults (``rules.notifications``).
    """
    reader = ctx.reader
    values = reader.mapping(node, key, {"bundle", "pause", "concurrency"})
    if values is None:
        return None
    before = len(reader.problems)
    bundle = read.optional(values, "bundle", key, lambda n, k: _bundle(ctx, n, k))
    pause = read.optional(values, "pause", key, lambda n, k: _pause(ctx, n, k))
    concurrency = read.optional(
        values, "concurrency", key, lambda n, k: read.integer(reader, n, k, 1, _MAX_CONCURRENCY)
    )
    if len(reader.problems) > before:
        return None
    default = NotificationTuning()
    return NotificationTuning(
        bundle or default.bundle,
        pause or default.pause,
        default.concurrency if concurrency is None else concurrency,
    )


def _bundle(ctx: FileContext, node: yaml.Node, key: str) -> Bundling | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"max", "window"})
    if values is None:
        return None
    most = read.optional(
        values, "max", key, lambda n, k: read.integer(reader, n, k, 1, _MAX_BUNDLE)
    )
    window = _bounded(ctx, values, "window", key, _MIN_WINDOW, _MAX_WINDOW)
    default = Bundling()
    return Bundling(default.max if most is None else most, window or default.window)


def _pause(ctx: FileContext, node: yaml.Node, key: str) -> Pausing | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"after_failures", "backoff", "max_backoff"})
    if values is None:
        return None
    after = read.optional(
        values, "after_failures", key, lambda n, k: read.integer(reader, n, k, 1, _MAX_FAILURES)
    )
    backoff = _bounded(ctx, values, "backoff", key, _MIN_BACKOFF, _MAX_BACKOFF)
    most = _bounded(ctx, values, "max_backoff", key, _MIN_BACKOFF, _MAX_BACKOFF)
    default = Pausing()
    pausing = Pausing(
        default.after_failures if after is None else after,
        backoff or default.backoff,
        most or default.max_backoff,
    )
    if pausing.max_backoff < pausing.backoff:
        where = values.get("max_backoff") or values.get("backoff") or node
        reader.problem(where, join(key, "max_backoff"), "must be at least backoff")
        return None
    return pausing


def _bounded(
    ctx: FileContext,
    values: dict[str, yaml.Node],
    name: str,
    key: str,
    low: timedelta,
    high: timedelta,
) -> timedelta | None:
    """Reads the duration ``values[name]`` between ``low`` and ``high``, if given."""
    reader = ctx.reader
    value = read.optional(values, name, key, lambda n, k: read.duration(reader, n, k, low))
    if value is not None and value > high:
        reader.problem(values[name], join(key, name), f"must be at most {format_duration(high)}")
        return None
    return value
