"""The ``correlation`` and ``heartbeats`` sections."""

from __future__ import annotations

import re
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import yaml

from rules.correlation import HEARTBEAT_ALERTNAME, Heartbeat, Tuning, TuningOverride
from rules.durations import format_duration
from rules.matchers import Matcher
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.yamlread import join

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_RESERVED = {"alertname", "heartbeat"}


def read_correlation(ctx: FileContext, node: yaml.Node, key: str) -> Tuning | None:
    """Reads the ``correlation`` section; absent keys keep their defaults."""
    override = read_tuning_override(ctx, node, key)
    return None if override is None else override.over(Tuning())


def read_tuning_override(ctx: FileContext, node: yaml.Node, key: str) -> TuningOverride | None:
    """Reads correlation timings (the section, or a route's or category's ``correlation``).

    Only the keys given are set; None if any of them is invalid.
    """
    reader = ctx.reader
    values = reader.mapping(
        node, key, {"resolve_timeout", "resolve_delay", "flap_detection", "hold"}
    )
    if values is None:
        return None
    before = len(reader.problems)
    given: dict[str, Any] = {
        "resolve_timeout": read.optional(
            values, "resolve_timeout", key, lambda n, k: read.duration(reader, n, k)
        ),
        "resolve_delay": read.optional(
            values, "resolve_delay", key, lambda n, k: read.duration(reader, n, k)
        ),
    }
    if "flap_detection" in values:
        flap_key = join(key, "flap_detection")
        flap_values = reader.mapping(
            values["flap_detection"], flap_key, {"changes", "window", "hold_down"}
        )
        if flap_values is not None:
            given["flap_changes"] = read.optional(
                flap_values, "changes", flap_key, lambda n, k: read.integer(reader, n, k, 2, 1000)
            )
            given["flap_window"] = read.optional(
                flap_values,
                "window",
                flap_key,
                lambda n, k: read.duration(reader, n, k, timedelta(seconds=1)),
            )
            given["flap_hold_down"] = read.optional(
                flap_values, "hold_down", flap_key, lambda n, k: read.duration(reader, n, k)
            )
    if "hold" in values:
        hold_key = join(key, "hold")
        hold_values = reader.mapping(values["hold"], hold_key, {"alerts", "duration"})
        if hold_values is not None:
            given["hold_alerts"] = read.optional(
                hold_values,
                "alerts",
                hold_key,
                lambda n, k: read.integer(reader, n, k, 0, 1_000_000),
            )
            given["hold_duration"] = read.optional(
                hold_values, "duration", hold_key, lambda n, k: read.duration(reader, n, k)
            )
    if len(reader.problems) > before:
        return None
    return TuningOverride(**given)


def read_heartbeats(ctx: FileContext, node: yaml.Node, key: str) -> list[Heartbeat]:
    """Reads the list under ``heartbeats``."""
    return ctx.read_named(node, key, "heartbeat", _read_heartbeat)


def _read_heartbeat(ctx: FileContext, node: yaml.Node, key: str) -> Heartbeat | None:
    reader = ctx.reader
    values = reader.mapping(
        node, key, {"name", "interval", "labels", "summary", "alert"}, {"name", "interval"}
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    interval = read.optional(
        values, "interval", key, lambda n, k: read.duration(reader, n, k, timedelta(seconds=1))
    )
    summary = read.optional(values, "summary", key, reader.string)
    expected = _read_expected_alert(ctx, values.get("alert"), join(key, "alert"))
    labels: dict[str, str] = {}
    if "labels" in values:
        labels_key = join(key, "labels")
        label_values = reader.mapping(values["labels"], labels_key, _AnyKey())
        for label, value_node in (label_values or {}).items():
            label_key = join(labels_key, label)
            if not _LABEL.fullmatch(label) or label in _RESERVED:
                reader.problem(
                    value_node,
                    label_key,
                    f"invalid label name (reserved: {', '.join(sorted(_RESERVED))})",
                )
                continue
            value = reader.string(value_node, label_key)
            if value is not None:
                labels[label] = value
    if name is None or interval is None or len(reader.problems) > before:
        return None
    matchers, consume = expected
    return Heartbeat(
        name=name,
        interval=interval,
        labels=MappingProxyType(labels),
        summary=summary
        or f"{HEARTBEAT_ALERTNAME}: no ping from {name} for {format_duration(interval)}",
        expect_alert=matchers,
        consume_alerts=consume,
    )


def _read_expected_alert(
    ctx: FileContext, node: yaml.Node | None, key: str
) -> tuple[tuple[Matcher, ...], bool]:
    """Reads a heartbeat's ``alert`` (the alert whose deliveries count as pings), if any."""
    if node is None:
        return (), True
    reader = ctx.reader
    values = reader.mapping(node, key, {"matchers", "consume"}, {"matchers"})
    if values is None:
        return (), True
    matchers = read.optional(
        values, "matchers", key, lambda n, k: read.matchers(reader, n, k)
    )
    if matchers is not None and not matchers:
        reader.problem(values["matchers"], join(key, "matchers"), "give at least one matcher")
    consume = read.optional(values, "consume", key, reader.boolean)
    return matchers or (), True if consume is None else consume


class _AnyKey(set[str]):
    """A key set that allows every key: label names are checked one by one instead."""

    def __contains__(self, item: object) -> bool:
        return True
