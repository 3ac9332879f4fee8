"""Urgency only rises: a more urgent alert joining an open incident raises its priority.

The category rules give every alert an urgency (``rules.categorise.urgency_of``). When
a firing, unmuted alert of an open, categorised incident gets a more urgent level than
the incident has, the incident takes that urgency and the priority the matrix gives it
with the incident's impact, recorded as ``priority_raised``. Nothing lowers them on its
own: an alert that resolves or a less urgent one changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from core.incident import Incident, IncidentAlert
from core.model import AlertStatus
from correlate.context import CorrelationContext
from rules.priority import priority_name


def raise_urgency(ctx: CorrelationContext, incident: Incident, entry: IncidentAlert) -> Incident:
    """Returns the incident with its urgency raised to the alert's, if that is more urgent."""
    current = incident.urgency
    if (
        current is None  # not categorised yet: the categorise stage asks again
        or entry.status is not AlertStatus.FIRING
        or entry.muted_by is not None  # a muted alert asks for nobody's attention
        or incident.impact is None
        # As urgent as any rule makes an alert (always so without urgency rules): no look-up.
        or current <= ctx.most_urgent
        or not incident.is_open
    ):
        return incident
    urgency, decided_by = ctx.routes.urgency(ctx.rules, entry.labels)
    if urgency >= current:
        return incident
    matrix = ctx.rules.priority.matrix
    # A matrix whose cells do not rise with urgency must not lower the priority either.
    level = min(matrix.priority(incident.impact, urgency), _level(incident.priority))
    raised = replace(incident, urgency=urgency, priority=priority_name(level))
    ctx.working.put(raised)
    ctx.working.event(
        raised,
        ctx.now,
        "priority_raised",
        fingerprint=entry.fingerprint,
        urgency={
            "from": level_name(current, matrix.urgencies),
            "to": level_name(urgency, matrix.urgencies),
        },
        priority={"from": incident.priority, "to": raised.priority},
        decided_by=decided_by,
    )
    return raised


def _level(priority: str | None) -> int:
    # "P3" -> 3; an unknown priority is below every level.
    digits = (priority or "")[1:]
    return int(digits) if digits.isascii() and digits.isdigit() else 1_000


def level_name(level: int, names: tuple[str, ...]) -> str:
    """An impact or urgency level as the rules name it (its number if they have no such level)."""
    return names[level - 1] if 1 <= level <= len(names) else str(level)
