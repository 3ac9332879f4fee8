"""A short account of what a set of rules holds, and things that look unintended.

``tocsin check`` prints it; warnings never fail the check, they point at definitions
that nothing uses, which is usually a typo somewhere else or leftover configuration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rules.credentials import Secret
from rules.durations import format_duration
from rules.model import Rules
from rules.policies import TargetKind
from rules.priority import priority_name
from rules.routing import walk


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts and names per section, in the order ``tocsin check`` prints them."""

    sections: tuple[tuple[str, int, str], ...]  # (section, count, detail)
    warnings: tuple[str, ...]


def summarise(rules: Rules) -> Summary:
    """Summarises ``rules``."""
    routes = walk(rules.route)
    matrix = rules.priority.matrix
    page = rules.status_page
    sections = (
        ("sources", len(rules.sources), _names(s.name for s in rules.sources)),
        ("channels", len(rules.channels), _names(rules.channels)),
        ("people", len(rules.people), _names(rules.people)),
        ("teams", len(rules.teams), _names(rules.teams)),
        (
            "schedules",
            len(rules.schedules),
            _names(
                f"{s.name} ({_count(len(s.layers), 'layer')}, "
                f"{_count(len(s.overrides), 'override')}; "
                f"{', '.join(z.key for z in s.zones)})"
                for s in rules.schedules.values()
            ),
        ),
        (
            "escalation_policies",
            len(rules.escalation_policies),
            _names(
                f"{p.name} ({_count(len(p.levels), 'level')}, repeat {p.repeat})"
                for p in rules.escalation_policies.values()
            ),
        ),
        (
            "routes",
            len(routes),
            f"default policy {rules.route.policy or '(none: nobody is paged)'}",
        ),
        ("services", len(rules.services), _names(rules.services)),
        ("categories", len(rules.categories), "rules, first match wins unless continue"),
        (
            "priority",
            matrix.levels,
            f"{len(matrix.impacts)}x{len(matrix.urgencies)} impact x urgency -> "
            f"P1..{priority_name(matrix.levels)}; SLA for "
            + (_names(priority_name(t.priority) for t in rules.priority.sla) or "none"),
        ),
        ("silences", len(rules.silences), ""),
        (
            "maintenance_windows",
            len(rules.maintenance_windows),
            _names(w.name for w in rules.maintenance_windows),
        ),
        ("inhibit_rules", len(rules.inhibit_rules), ""),
        (
            "heartbeats",
            len(rules.heartbeats),
            _names(f"{h.name} every {format_duration(h.interval)}" for h in rules.heartbeats),
        ),
        (
            "api_keys",
            len(rules.api_keys),
            _names(f"{k.name} ({k.role})" for k in rules.api_keys),
        ),
        (
            "status_page",
            len(page.components),
            f"{page.name!r}: components in {len(page.groups)} groups, {page.time_zone.key}",
        ),
    )
    return Summary(tuple(sections), tuple(_warnings(rules)))


def _warnings(rules: Rules) -> list[str]:
    warnings: list[str] = []
    used_policies = {r.policy for r in walk(rules.route)}
    used_policies |= {s.policy for s in rules.services.values()}
    used_policies |= {t.policy for t in rules.teams.values()}
    targets = [t for p in rules.escalation_policies.values() for lv in p.levels for t in lv.targets]
    for name in rules.escalation_policies:
        if name not in used_policies:
            warnings.append(f"escalation policy {name!r} is named by no route, service or team")
    paged = {t.name for t in targets if t.kind is TargetKind.PERSON}
    for team in rules.teams.values():
        paged.update(team.members)
    for schedule in rules.schedules.values():
        paged.update(schedule.members)
    for name in rules.people:
        if name not in paged:
            warnings.append(f"person {name!r} is in no team, schedule or policy")
    used_channels = {c.channel for p in rules.people.values() for c in p.contacts}
    used_channels |= {t.name for t in targets if t.kind is TargetKind.CHANNEL}
    used_channels |= {t.channel for t in rules.teams.values() if t.channel}
    for name in rules.channels:
        if name not in used_channels:
            warnings.append(f"channel {name!r} is used by no person, team or policy")
    used_schedules = {t.name for t in targets if t.kind is TargetKind.SCHEDULE}
    for name in rules.schedules:
        if name not in used_schedules:
            warnings.append(f"schedule {name!r} is paged by no policy")
    shown = {c for s in rules.services.values() for c in s.components}
    shown |= {c for r in rules.categories for c in r.components or ()}
    shown |= {c for w in rules.maintenance_windows for c in w.components}
    for component in rules.status_page.components:
        if component.name not in shown:
            warnings.append(f"component {component.name!r} is affected by no service or rule")
    return warnings


def ended(rules: Rules, now: datetime) -> list[str]:
    """Warns about silences and one-off maintenance windows that are over at ``now``."""
    warnings = [
        f"silence {s.name or s.comment!r} ended at {s.ends_at.isoformat()}: it mutes "
        "nothing any more; remove it"
        for s in rules.silences
        if s.ends_at <= now
    ]
    warnings += [
        f"maintenance window {w.name!r} ended at {w.ends_at.isoformat()}: remove it"
        for w in rules.maintenance_windows
        if w.ends_at is not None and w.ends_at <= now
    ]
    return warnings


def find_secrets(rules: Rules) -> list[Secret]:
    """Returns the secrets the rules reference (env or file), each origin once."""
    found: dict[str, Secret] = {}
    pending: list[object] = [rules]
    while pending:
        value = pending.pop()
        if isinstance(value, Secret):
            if value.origin != "inline":
                found.setdefault(value.origin, value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            pending.extend(getattr(value, f.name) for f in dataclasses.fields(value))
        elif isinstance(value, Mapping):
            pending.extend(value.values())
        elif isinstance(value, tuple | list):
            pending.extend(value)
    return sorted(found.values(), key=lambda s: s.origin)


def _names(names: Iterable[object]) -> str:
    return ", ".join(str(n) for n in names)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
