"""Categorisation and priority: what an incident is, from the rules.

Incidents opened by this entry are categorised from the alert that opened them (ITIL
logs and categorises at opening; later alerts join without recategorising). A firing,
unmuted alert that joins an open incident can only raise its urgency, and so its
priority: when the category rules give that alert a more urgent level than the
incident has, the incident takes it. Nothing lowers them on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.incident import Incident
from core.model import Alert, AlertStatus
from correlate.context import CorrelationContext
from rules.priority import priority_name

# The decisions written to the timeline, so that a later recategorisation can be traced.
_RECORDED = ("title", "category", "service", "impact", "urgency", "priority", "team", "policy")


class CategoriseStage:
    """Sets category, service, impact, urgency, priority, team, title and components."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        for alert in alerts:
            opened = ctx.working.opened_by(alert.fingerprint)
            for incident in opened:
                _categorise(ctx, incident, alert)
            # An alert that opened its only incident has nothing to raise (most of them).
            if alert.status is AlertStatus.FIRING and len(opened) < len(
                ctx.groups[alert.fingerprint]
            ):
                await _raise_urgency(ctx, alert, opened)
        return ctx, alerts


def _categorise(ctx: CorrelationContext, incident: Incident, alert: Alert) -> None:
    decided = ctx.rules.categorise(alert.labels, alert.annotations)
    # The route, else the incident's service or team, else the root (rules.assignment).
    policy = ctx.rules.policy_for(incident.route or ctx.rules.route, decided)
    categorised = replace(
        incident,
        title=decided.title,
        category=decided.category,
        service=decided.service,
        impact=decided.impact,
        urgency=decided.urgency,
        priority=decided.priority_name,
        team=decided.team,
        components=decided.components,
        public=bool(decided.components),
        policy=policy.policy,
    )
    ctx.working.put(categorised)
    ctx.working.event(
        categorised,
        ctx.now,
        "categorised",
        **{name: getattr(categorised, name) for name in _RECORDED},
        decided_by=dict(decided.decided_by),
        policy_from=policy.describe(),
    )


async def _raise_urgency(ctx: CorrelationContext, alert: Alert, opened: list[Incident]) -> None:
    """Raises the urgency of each open incident the firing alert is in, if it is more urgent."""
    for _route, group_key in ctx.groups[alert.fingerprint]:
        incident = await ctx.working.head(group_key)
        if (
            incident is None
            or not incident.is_open
            or any(incident.id == o.id for o in opened)
            or incident.impact is None
            or incident.urgency is None
            or incident.urgency == 1  # already the most urgent: nothing to look up
        ):
            continue
        joined = incident.alerts.get(alert.fingerprint)
        if joined is None or joined.status is not AlertStatus.FIRING or joined.muted_by:
            continue  # a muted alert asks for nobody's attention, so it raises nothing
        urgency, decided_by = ctx.routes.urgency(ctx.rules, alert.labels)
        if urgency >= incident.urgency:
            continue
        matrix = ctx.rules.priority.matrix
        # A matrix whose cells do not rise with urgency must not lower the priority either.
        level = min(matrix.priority(incident.impact, urgency), _level(incident.priority))
        priority = priority_name(level)
        raised = replace(incident, urgency=urgency, priority=priority)
        ctx.working.put(raised)
        ctx.working.event(
            raised,
            ctx.now,
            "priority_raised",
            fingerprint=alert.fingerprint,
            urgency={
                "from": _name(incident.urgency, matrix.urgencies),
                "to": _name(urgency, matrix.urgencies),
            },
            priority={"from": incident.priority, "to": priority},
            decided_by=decided_by,
        )


def _level(priority: str | None) -> int:
    # "P3" -> 3; an unknown priority is below every level.
    digits = (priority or "")[1:]
    return int(digits) if digits.isascii() and digits.isdigit() else 1_000


def _name(level: int, names: tuple[str, ...]) -> str:
    return names[level - 1] if 1 <= level <= len(names) else str(level)
