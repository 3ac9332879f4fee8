"""Whether an incident met the SLA targets of its priority (the rules' ``priority.sla``).

Each clock runs from the incident's opening, less the time it spent on hold (holds pause
SLA clocks):

- acknowledge: until it was acknowledged, or resolved without an acknowledgement
  (resolving is a response too). Only the holds before that instant pause it; the
  caller says how long they were (the closure report reads them from the timeline;
  ``tocsin report``, which reads no timelines, passes 0).
- resolve: until it was resolved, less ``on_hold_total`` (and a hold still running).

An incident reopened is measured on its last cycle: reopening clears its acknowledgement
and resolution (core.lifecycle), and the clocks run from its opening as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.incident import Incident
from rules.priority import PriorityRules, SlaClock, SlaTarget


class Outcome(enum.StrEnum):
    """How an SLA target stands."""

    MET = "met"
    BREACHED = "breached"
    PENDING = "pending"  # not reached yet and still within the target


@dataclass(frozen=True, slots=True)
class SlaResult:
    """One target of one incident: the target, the time counted so far or taken, the outcome."""

    target: str  # "acknowledge" or "resolve"
    within: timedelta
    elapsed: timedelta
    outcome: Outcome


def priority_level(priority: str | None) -> int | None:
    """The level of a priority written ``P2``; None for none or another spelling."""
    if priority is None or not priority.startswith("P"):
        return None
    digits = priority[1:]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def _held_until(incident: Incident, now: datetime) -> timedelta:
    """All the time the incident was held, with a hold still running until ``now``."""
    running = timedelta(0)
    if incident.on_hold_since is not None:
        running = max(timedelta(0), now - incident.on_hold_since)
    return incident.on_hold_total + running


def _judge(
    target: str, clock: SlaClock, opened: datetime, reached: datetime | None,
    held: timedelta, now: datetime,
) -> SlaResult:  # fmt: skip
    end = reached if reached is not None else now
    elapsed = max(timedelta(0), end - opened - held)
    if elapsed > clock.within:
        outcome = Outcome.BREACHED
    else:
        outcome = Outcome.MET if reached is not None else Outcome.PENDING
    return SlaResult(target, clock.within, elapsed, outcome)


def sla_results(
    incident: Incident,
    rules: PriorityRules,
    now: datetime,
    *,
    held_before_ack: timedelta = timedelta(0),
) -> list[SlaResult]:
    """The incident's result for each SLA target its priority has (none: an empty list)."""
    return target_results(incident, sla_target(rules, incident.priority), now, held_before_ack)


def sla_target(rules: PriorityRules, priority: str | None) -> SlaTarget | None:
    """The SLA targets of a priority written ``P2``, if the rules set any."""
    level = priority_level(priority)
    return None if level is None else rules.sla_for(level)


def target_results(
    incident: Incident,
    target: SlaTarget | None,
    now: datetime,
    held_before_ack: timedelta = timedelta(0),
) -> list[SlaResult]:
    """The incident's result for each clock of ``target`` (its priority's, looked up once)."""
    if target is None:
        return []
    results: list[SlaResult] = []
    if target.acknowledge is not None:
        responded = incident.acknowledged_at or incident.resolved_at
        if incident.acknowledged_at is not None:
            held = held_before_ack
        else:  # every hold so far came before the response (a resolve) or none came yet
            held = _held_until(incident, responded or now)
        results.append(
            _judge("acknowledge", target.acknowledge, incident.opened_at, responded, held, now)
        )
    if target.resolve is not None:
        held = _held_until(incident, incident.resolved_at or now)
        results.append(
            _judge("resolve", target.resolve, incident.opened_at, incident.resolved_at, held, now)
        )
    return results
