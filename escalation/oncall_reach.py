"""Who an escalation policy's first level reaches at an instant, from the on-call calculator.

A person target reaches that person, a team its members, a schedule whoever is on call
in it then (``escalation.oncall``), and a channel no person (the channel itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalation.oncall import on_call_at
from rules.model import Rules
from rules.policies import EscalationPolicy, Target, TargetKind


@dataclass(frozen=True, slots=True)
class TargetReach:
    """One target of a level and the people it reaches."""

    target: Target
    people: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PolicyReach:
    """Who the first level of ``policy`` pages at an instant."""

    policy: EscalationPolicy
    targets: tuple[TargetReach, ...]

    @property
    def people(self) -> tuple[str, ...]:
        """Everyone reached, once each, in target order."""
        names: list[str] = []
        for reach in self.targets:
            names.extend(p for p in reach.people if p not in names)
        return tuple(names)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the level pages as such."""
        return tuple(r.target.name for r in self.targets if r.target.kind is TargetKind.CHANNEL)


def target_people(rules: Rules, target: Target, at: datetime) -> tuple[str, ...]:
    """The people ``target`` reaches at ``at``."""
    if target.kind is TargetKind.PERSON:
        return (target.name,)
    if target.kind is TargetKind.TEAM:
        return rules.teams[target.name].members
    if target.kind is TargetKind.SCHEDULE:
        return on_call_at(rules.schedules[target.name], at)
    return ()


def first_level_reach(rules: Rules, policy: EscalationPolicy, at: datetime) -> PolicyReach:
    """Who ``policy``'s first level pages at ``at``."""
    level = policy.levels[0] if policy.levels else None
    targets = level.targets if level is not None else ()
    return PolicyReach(policy, tuple(TargetReach(t, target_people(rules, t, at)) for t in targets))
