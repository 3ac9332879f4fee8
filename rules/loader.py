"""Loads a rules file or a directory of them into one validated :class:`Rules`.

Each file is read on its own into dataclasses, recording what it defines and what it
refers to; then the files are merged (lists appended in file-name order, single
sections such as ``route`` allowed once), and every reference is checked against every
definition. All problems of all files are reported together.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from core.errors import RuleError, RuleProblem
from core.lifecycle import LifecyclePolicy
from core.problem_candidates import ProblemRules
from rules import defaults
from rules.api_keys import ApiKey
from rules.channels import Channel
from rules.correlation import Tuning
from rules.model import Rules, SourceConfig
from rules.notifications import NotificationTuning
from rules.people import Person, Team
from rules.policies import EscalationPolicy
from rules.priority import DEFAULT_PRIORITY, PriorityRules
from rules.routing import Route, default_route
from rules.schedules import Schedule
from rules.sections.api_keys import read_api_keys
from rules.sections.calendar_feeds import read_calendar_feeds
from rules.sections.categories import read_categories, read_services
from rules.sections.channels import read_channels
from rules.sections.context import Definition, FileContext, Place, Reference
from rules.sections.correlation import read_correlation, read_heartbeats
from rules.sections.lifecycle import read_lifecycle
from rules.sections.muting import read_inhibit_rules, read_maintenance, read_silences
from rules.sections.notifications import read_notifications
from rules.sections.people import read_people, read_teams
from rules.sections.policies import read_policies
from rules.sections.priority import read_priority
from rules.sections.problems import read_problems
from rules.sections.routes import read_route
from rules.sections.schedules import read_schedules
from rules.sections.secrets import UNRESOLVED
from rules.sections.sources import read_sources
from rules.sections.status import read_status_page, read_templates
from rules.services import Service
from rules.status import StatusPage
from rules.templates import IncidentTemplates, TemplateCompiler
from rules.yamlread import Reader, compose_file

T = TypeVar("T")
SectionReader = Callable[[FileContext, yaml.Node, str], Any]

# Sections that are lists, merged across files; the kind of thing each item defines.
LIST_SECTIONS: Mapping[str, tuple[SectionReader, str | None]] = {
    "sources": (read_sources, "source"),
    "channels": (read_channels, "channel"),
    "people": (read_people, "person"),
    "teams": (read_teams, "team"),
    "schedules": (read_schedules, "schedule"),
    "escalation_policies": (read_policies, "policy"),
    "services": (read_services, "service"),
    "categories": (read_categories, None),
    "silences": (read_silences, None),
    "maintenance_windows": (read_maintenance, "maintenance window"),
    "inhibit_rules": (read_inhibit_rules, None),
    "heartbeats": (read_heartbeats, "heartbeat"),
    "api_keys": (read_api_keys, "api key"),
}
# Sections that may be written once, in one file.
SINGLE_SECTIONS: Mapping[str, SectionReader] = {
    "route": read_route,
    "priority": read_priority,
    "status_page": read_status_page,
    "templates": read_templates,
    "correlation": read_correlation,
    "lifecycle": read_lifecycle,
    "problems": read_problems,
    "calendar_feeds": read_calendar_feeds,
    "notifications": read_notifications,
}
SECTIONS = set(LIST_SECTIONS) | set(SINGLE_SECTIONS)
# Items looked at for names by _declare; bounds the work on documents full of aliases.
_MAX_DECLARED = 100_000
# Where the things of each kind are defined, for "unknown person" style messages.
KIND_SECTIONS = {kind: name for name, (_, kind) in LIST_SECTIONS.items() if kind is not None}
KIND_SECTIONS.update({"component": "status_page.components", "group": "status_page.groups"})


@dataclass
class _Merged:
    """Everything read from all files so far."""

    lists: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n in LIST_SECTIONS})
    singles: dict[str, tuple[Any, Place]] = field(default_factory=dict)
    definitions: list[Definition] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    declared: set[tuple[str, str]] = field(default_factory=set)
    problems: list[RuleProblem] = field(default_factory=list)


def load_rules(
    path: Path, env: Mapping[str, str] | None = None, *, resolve_secrets: bool = True
) -> Rules:
    """Loads and validates rules from a ``.yml``/``.yaml`` file or a directory of them.

    A directory's files are read in name order and merged; a name defined twice is an
    error naming both places. Secrets are read from ``env`` (default: the process
    environment) and files. Without ``resolve_secrets`` only their references are
    checked (``tocsin check`` in CI): the secrets are not read and match nothing.
    Raises RuleError listing every problem found.
    """
    environment = os.environ if env is None else env
    if not resolve_secrets:
        environment = UNRESOLVED
    merged = _Merged()
    compiler = TemplateCompiler()
    for file in _rule_files(path):
        _read_file(file, environment, compiler, merged)
    tables = _definitions(merged)
    priority: PriorityRules = _single(merged, "priority", DEFAULT_PRIORITY)
    _check_references(merged, tables, priority)
    policy_named = any(ref.kind == "policy" for ref in merged.references)
    if merged.lists["escalation_policies"] and not policy_named:
        # A route, a service or a team must name a policy, or none is ever used.
        first = next(d for d in merged.definitions if d.kind == "policy")
        merged.problems.append(
            RuleProblem(
                first.place.file,
                first.place.line,
                "route",
                "escalation policies are defined but no route sends alerts to them "
                "(and no service or team names one)",
            )
        )
    _check_api_keys_differ(merged)
    if merged.problems:
        # By file, then line, so that each file's mistakes read top to bottom.
        raise RuleError(sorted(merged.problems, key=lambda p: (p.file, p.line)))
    route: Route = _single(merged, "route", None) or default_route()
    status_page: StatusPage = _single(merged, "status_page", None) or defaults.status_page(compiler)
    templates: IncidentTemplates = _single(merged, "templates", None) or (
        defaults.incident_templates(compiler)
    )
    return Rules(
        sources=tuple(v for v in tables["source"].values() if isinstance(v, SourceConfig)),
        channels=_table(tables, "channel", Channel),
        people=_table(tables, "person", Person),
        teams=_table(tables, "team", Team),
        schedules=_table(tables, "schedule", Schedule),
        escalation_policies=_table(tables, "policy", EscalationPolicy),
        services=_table(tables, "service", Service),
        categories=tuple(merged.lists["categories"]),
        priority=priority,
        route=route,
        silences=tuple(merged.lists["silences"]),
        maintenance_windows=tuple(merged.lists["maintenance_windows"]),
        inhibit_rules=tuple(merged.lists["inhibit_rules"]),
        correlation=_single(merged, "correlation", None) or Tuning(),
        heartbeats=tuple(merged.lists["heartbeats"]),
        api_keys=tuple(merged.lists["api_keys"]),
        status_page=status_page,
        templates=templates,
        lifecycle=_single(merged, "lifecycle", None) or LifecyclePolicy(),
        problems=_single(merged, "problems", None) or ProblemRules(),
        calendar_feeds=_single(merged, "calendar_feeds", None),
        notifications=_single(merged, "notifications", None) or NotificationTuning(),
    )


def _read_file(
    file: Path, env: Mapping[str, str], compiler: TemplateCompiler, merged: _Merged
) -> None:
    try:
        root = compose_file(file)
    except RuleError as exc:
        merged.problems.extend(exc.problems)
        return
    if root is None:
        return  # an empty file defines nothing
    reader = Reader(str(file))
    ctx = FileContext(reader, env, file.parent, compiler)
    sections = reader.mapping(root, "", SECTIONS)
    for name, node in (sections or {}).items():
        _declare(name, node, merged.declared)
        if name in LIST_SECTIONS:
            merged.lists[name].extend(LIST_SECTIONS[name][0](ctx, node, name))
            continue
        value = SINGLE_SECTIONS[name](ctx, node, name)
        if name in merged.singles:
            first = merged.singles[name][1]
            reader.problem(node, name, f"section {name!r} is also defined at {first}")
        elif value is not None:
            merged.singles[name] = (value, ctx.place(node))
    merged.definitions.extend(ctx.definitions)
    merged.references.extend(ctx.references)
    merged.problems.extend(reader.problems)


def _declare(section: str, node: yaml.Node, declared: set[tuple[str, str]]) -> None:
    # Names written in the file, valid or not: a reference to a person whose entry has a
    # mistake is reported once, at the mistake, not again as an unknown person.
    kind = LIST_SECTIONS[section][1] if section in LIST_SECTIONS else None
    items: list[tuple[str, yaml.Node]] = []
    if kind is not None and isinstance(node, yaml.SequenceNode):
        items = [(kind, item) for item in node.value]
    elif section == "status_page" and isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value in ("components", "groups") and isinstance(value, yaml.SequenceNode):
                items += [(key_node.value[:-1], item) for item in value.value]
    budget = _MAX_DECLARED
    for item_kind, item in items:
        if not isinstance(item, yaml.MappingNode):
            continue
        budget -= len(item.value)
        if budget < 0:
            return
        for key_node, value in item.value:
            if key_node.value == "name" and isinstance(value, yaml.ScalarNode):
                declared.add((item_kind, str(value.value)))


def _definitions(merged: _Merged) -> dict[str, dict[str, object]]:
    tables: dict[str, dict[str, object]] = {kind: {} for kind in KIND_SECTIONS}
    first: dict[tuple[str, str], Definition] = {}
    for definition in merged.definitions:
        identity = (definition.kind, definition.name)
        if identity in first:
            earlier = first[identity].place
            merged.problems.append(
                RuleProblem(
                    definition.place.file,
                    definition.place.line,
                    definition.key,
                    f"{definition.kind} {definition.name!r} is also defined at {earlier}",
                )
            )
            continue
        first[identity] = definition
        tables.setdefault(definition.kind, {})[definition.name] = definition.value
    return tables


def _check_references(
    merged: _Merged, tables: dict[str, dict[str, object]], priority: PriorityRules
) -> None:
    matrix = priority.matrix
    for ref in merged.references:
        message: str | None = None
        if ref.kind in ("impact", "urgency"):
            names = matrix.impacts if ref.kind == "impact" else matrix.urgencies
            level = matrix.impact_level if ref.kind == "impact" else matrix.urgency_level
            if level(ref.name) is None:
                message = (
                    f"{ref.name!r} is not an {ref.kind} level "
                    f"(levels: {', '.join(names)}, or 1-{len(names)})"
                )
        elif ref.name in tables.get(ref.kind, {}):
            if ref.check is not None:
                message = ref.check(tables[ref.kind][ref.name])
        elif (ref.kind, ref.name) not in merged.declared:
            message = _unknown(ref, tables.get(ref.kind, {}))
        if message is not None:
            merged.problems.append(RuleProblem(ref.place.file, ref.place.line, ref.key, message))


def _unknown(ref: Reference, known: Mapping[str, object]) -> str:
    section = KIND_SECTIONS.get(ref.kind, ref.kind)
    if not known:
        return f"unknown {ref.kind} {ref.name!r}: no {section} are defined"
    close = difflib.get_close_matches(ref.name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    names = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
    return f"unknown {ref.kind} {ref.name!r}{hint} ({section}: {names})"


def _table(tables: dict[str, dict[str, object]], kind: str, cls: type[T]) -> Mapping[str, T]:
    return MappingProxyType({n: v for n, v in tables[kind].items() if isinstance(v, cls)})


def _single(merged: _Merged, name: str, default: Any) -> Any:
    found = merged.singles.get(name)
    return default if found is None else found[0]


def _check_api_keys_differ(merged: _Merged) -> None:
    # Two keys with one secret: the first would always win, so the second's role could
    # never be used; almost certainly a copy-paste mistake.
    seen: dict[str, Definition] = {}
    for definition in merged.definitions:
        if definition.kind != "api key" or not isinstance(definition.value, ApiKey):
            continue
        secret = definition.value.key.value
        first = seen.setdefault(secret, definition)
        if first is not definition:
            merged.problems.append(
                RuleProblem(
                    definition.place.file,
                    definition.place.line,
                    f"{definition.key}.key",
                    f"the same secret as api key {first.name!r} at {first.place}",
                )
            )


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())
        if not files:
            raise RuleError(
                [RuleProblem(str(path), 1, "", "directory holds no .yml or .yaml files")]
            )
        return files
    if not path.exists():
        raise RuleError([RuleProblem(str(path), 1, "", "no such file or directory")])
    return [path]
