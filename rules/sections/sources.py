"""The ``sources`` section: which systems may send alerts, in what format, with what credentials."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from core.model import SourceKind
from rules.credentials import BasicAuth, BearerAuth
from rules.model import RateLimit, SourceConfig
from rules.sections import values as read
from rules.sections.context import FileContext
from rules.sections.secrets import read_secret
from rules.yamlread import Reader

_KINDS = [k.value for k in SourceKind]
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)


def read_sources(ctx: FileContext, node: yaml.Node, key: str) -> list[SourceConfig]:
    """Reads the list under ``sources``; records each valid source as a definition."""
    sources: list[SourceConfig] = []
    for item_key, item in ctx.reader.sequence(node, key):
        source = _read_source(ctx.reader, item, item_key, ctx.env, ctx.base)
        if source is not None:
            ctx.define("source", source.name, item, item_key, source)
            sources.append(source)
    return sources


def _read_source(
    reader: Reader, node: yaml.Node, key: str, env: Mapping[str, str], base: Path
) -> SourceConfig | None:
    values = reader.mapping(
        node,
        key,
        {"name", "kind", "auth", "routing_key", "rate_limit", "drop_labels"},
        {"name", "kind"},
    )
    if values is None:
        return None
    before = len(reader.problems)
    name = read.name(reader, values["name"], f"{key}.name") if "name" in values else None
    kind = (
        reader.choice(values["kind"], f"{key}.kind", SourceKind, _KINDS)
        if "kind" in values
        else None
    )
    auth = None
    routing_key = None
    if kind is SourceKind.PAGERDUTY:
        if "auth" in values:
            reader.problem(
                values["auth"], f"{key}.auth", "pagerduty sources authenticate by routing_key"
            )
        if "routing_key" not in values:
            reader.problem(node, f"{key}.routing_key", "is required for kind pagerduty")
        else:
            routing_key = read_secret(
                reader, values["routing_key"], f"{key}.routing_key", env, base
            )
    elif kind is not None:
        if "routing_key" in values:
            reader.problem(
                values["routing_key"],
                f"{key}.routing_key",
                "only pagerduty sources take a routing_key",
            )
        if "auth" not in values:
            reader.problem(node, f"{key}.auth", "is required: every source must authenticate")
        else:
            auth = read_auth(reader, values["auth"], f"{key}.auth", env, base)
    rate_limit = (
        _read_rate_limit(reader, values["rate_limit"], f"{key}.rate_limit")
        if "rate_limit" in values
        else None
    )
    drop_labels = (
        _read_drop_labels(reader, values["drop_labels"], f"{key}.drop_labels")
        if "drop_labels" in values
        else frozenset[str]()
    )
    if len(reader.problems) > before or name is None or kind is None or drop_labels is None:
        return None
    return SourceConfig(
        name=name,
        kind=kind,
        auth=auth,
        routing_key=routing_key,
        rate_limit=rate_limit,
        drop_labels=drop_labels,
    )


def _read_drop_labels(reader: Reader, node: yaml.Node, key: str) -> frozenset[str] | None:
    """Reads the label names a source drops before the fingerprint, e.g. ``[replica]``."""
    names: set[str] = set()
    for item_key, label, item in reader.strings(node, key):
        if not _LABEL_NAME.fullmatch(label):
            reader.problem(item, item_key, f"{label!r} is not a valid label name")
            return None
        if label == "alertname":
            reader.problem(item, item_key, "alertname names the alert and cannot be dropped")
            return None
        if label in names:
            reader.problem(item, item_key, f"{label!r} is listed twice")
            return None
        names.add(label)
    return frozenset(names)


def read_auth(
    reader: Reader, node: yaml.Node, key: str, env: Mapping[str, str], base: Path
) -> BearerAuth | BasicAuth | None:
    """Reads ``{bearer_token: SECRET}`` or ``{basic: {username, password: SECRET}}``."""
    values = reader.mapping(node, key, {"bearer_token", "basic"})
    if values is None:
        return None
    if len(values) != 1:
        reader.problem(node, key, "give exactly one of bearer_token or basic")
        return None
    if "bearer_token" in values:
        token = read_secret(reader, values["bearer_token"], f"{key}.bearer_token", env, base)
        return None if token is None else BearerAuth(token)
    basic_key = f"{key}.basic"
    basic = reader.mapping(
        values["basic"], basic_key, {"username", "password"}, {"username", "password"}
    )
    if basic is None or len(basic) != 2:
        return None
    username = reader.string(basic["username"], f"{basic_key}.username")
    if username is not None and ":" in username:
        reader.problem(basic["username"], f"{basic_key}.username", "must not contain ':'")
        username = None
    password = read_secret(reader, basic["password"], f"{basic_key}.password", env, base)
    if username is None or password is None:
        return None
    return BasicAuth(username, password)


def _read_rate_limit(reader: Reader, node: yaml.Node, key: str) -> RateLimit | None:
    values = reader.mapping(
        node, key, {"alerts_per_second", "burst"}, {"alerts_per_second", "burst"}
    )
    if values is None or len(values) != 2:
        return None
    rate = reader.number(values["alerts_per_second"], f"{key}.alerts_per_second", minimum=0.001)
    burst = reader.number(values["burst"], f"{key}.burst", minimum=1, integer=True)
    if rate is None or burst is None:
        return None
    return RateLimit(alerts_per_second=rate, burst=int(burst))
