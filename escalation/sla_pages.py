"""Who an SLA warning or breach pages: the rules' functional and hierarchical escalation.

The incident's team's ``sla_escalation`` applies (the incident's team, else its
service's owning team), else the ``priority`` section's. A warning fires the kinds in
``on_warning`` (default: functional), a breach those in ``on_breach`` (default: both):

- functional, the next support tier: every member of a team, whoever is on call in a
  schedule at that moment, or the targets of an escalation policy's first level (a
  channel target is paged as such);
- hierarchical, a manager: the person named, else the manager (``people[].manager``) of
  the incident's assignee.

Each person is paged once per threshold, on their first contact method (an SLA page is
one message, not a contact chain). Outbox keys are
``<incident>:sla:<cycle>:<clock>:<priority>:<threshold>:<person>:<channel>`` (``-``
for a channel paged as such): never a policy page's key, and the same threshold maps to
the same keys however often it is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from escalation.oncall_reach import target_people
from escalation.page import Page
from escalation.sla_state import ClockName, SlaState, Threshold
from rules.durations import format_duration
from rules.model import Rules
from rules.policies import Target, TargetKind
from rules.sla_lookup import sla_escalation_for
from rules.sla_rules import SlaEscalation, SlaEscalationKind

_CLOCK_TEXT = {ClockName.ACKNOWLEDGE: "time to acknowledge", ClockName.RESOLVE: "time to resolve"}


@dataclass(frozen=True, slots=True)
class SlaPage(Page):
    """An outbox entry of an SLA warning or breach (its own idempotency key)."""

    cycle: int = 0
    clock: str = ""
    threshold: str = ""
    target: float = 0.0  # the clock's target, seconds
    elapsed: float = 0.0  # the clock's time when the threshold was reached, seconds

    @property
    def key(self) -> str:
        """``<incident>:sla:<cycle>:<clock>:<priority>:<threshold>:<person>:<channel>``."""
        return (
            f"{self.incident_id}:sla:{self.cycle}:{self.clock}:{self.priority}"
            f":{self.threshold}:{self.person or '-'}:{self.channel}"
        )

    def to_document(self) -> dict[str, Any]:
        """The outbox entry, with an ``sla`` field saying what it is about."""
        document = Page.to_document(self)
        document["key"] = self.key
        document["sla"] = {
            "cycle": self.cycle,
            "clock": self.clock,
            "threshold": self.threshold,
            "target_seconds": self.target,
            "elapsed_seconds": self.elapsed,
        }
        return document


def recipients(
    rules: Rules, state: SlaState, threshold: Threshold, now: datetime
) -> tuple[list[tuple[str | None, str, str]], list[str]]:
    """The (person or None, channel, address) to page, and why anyone was left out."""
    config = sla_escalation_for(rules, state.team, state.service)
    if config is None:
        return [], ["no sla_escalation for the incident's team or in the priority section"]
    kinds = config.on_breach if threshold.breach else config.on_warning
    targets: list[Target] = []
    missing: list[str] = []
    if SlaEscalationKind.FUNCTIONAL in kinds:
        targets.extend(_functional(rules, config, missing))
    if SlaEscalationKind.HIERARCHICAL in kinds:
        manager = config.hierarchical or _assignee_manager(rules, state)
        if manager is None:
            missing.append("no manager: name sla_escalation.hierarchical or the assignee's")
        else:
            targets.append(Target(TargetKind.PERSON, manager))
    found: list[tuple[str | None, str, str]] = []
    people: list[str] = []
    for target in targets:
        if target.kind is TargetKind.CHANNEL:
            if target.name in rules.channels:
                found.append((None, target.name, ""))
            continue
        for name in _people(rules, target, now, missing):
            if name in people:
                continue
            people.append(name)
            person = rules.people.get(name)
            if person is None or not person.contacts:
                missing.append(f"person {name} has no contact method")
                continue
            contact = person.contacts[0]
            found.append((name, contact.channel, contact.address))
    return found, missing


def sla_page(
    state: SlaState,
    clock: ClockName,
    threshold: Threshold,
    target: tuple[str | None, str, str],
    now: datetime,
    within: timedelta,
) -> SlaPage:
    """The outbox entry paging ``target`` about ``threshold`` of ``clock``."""
    person, channel, address = target
    what = "breached" if threshold.breach else f"warning at {threshold.name[8:]}"
    title = f"SLA {_CLOCK_TEXT[clock]} {state.priority} {what}: {state.title}"
    return SlaPage(
        state.incident_id,
        state.cycle,
        0,
        0,
        person,
        channel,
        address,
        now,
        title,
        state.incident_state,
        state.priority,
        state.service,
        state.cycle,
        clock.value,
        threshold.name,
        within.total_seconds(),
        threshold.elapsed.total_seconds(),
    )


def describe(threshold: Threshold, within: timedelta) -> str:
    """``breach of 5m`` or ``warning-3m45s of 5m`` for notes and logs."""
    return f"{threshold.name} of {format_duration(within)}"


def _functional(rules: Rules, config: SlaEscalation, missing: list[str]) -> list[Target]:
    if config.functional is not None:
        return [config.functional]
    if config.functional_policy is None:
        return []
    policy = rules.escalation_policies.get(config.functional_policy)
    if policy is None or not policy.levels:
        missing.append(f"policy {config.functional_policy} is no longer in the rules")
        return []
    return list(policy.levels[0].targets)


def _assignee_manager(rules: Rules, state: SlaState) -> str | None:
    person = rules.people.get(state.assignee or "")
    return None if person is None else person.manager


def _people(rules: Rules, target: Target, now: datetime, missing: list[str]) -> tuple[str, ...]:
    known = {
        TargetKind.PERSON: rules.people,
        TargetKind.TEAM: rules.teams,
        TargetKind.SCHEDULE: rules.schedules,
    }[target.kind]
    if target.name not in known:
        missing.append(f"{target} is no longer in the rules")
        return ()
    people = target_people(rules, target, now)
    if not people:
        missing.append(f"{target} reaches nobody now")
    return people
