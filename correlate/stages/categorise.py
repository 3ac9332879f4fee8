"""Categorisation and priority: what a newly opened incident is, from the rules.

Only incidents opened by this entry are categorised, from the alert that opened them
(ITIL logs and categorises at opening; later alerts join without recategorising, but
may raise the urgency: ``correlate.stages.urgency``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.incident import Incident
from core.incident_actions import rules_tasks
from core.model import Alert
from correlate.context import CorrelationContext
from correlate.stages.group import holds, release_due
from correlate.stages.urgency import level_name, raise_urgency

# The decisions written to the timeline, so that a later recategorisation can be traced.
_RECORDED = ("title", "category", "service", "impact", "urgency", "priority", "team", "policy")


class CategoriseStage:
    """Sets category, service, impact, urgency, priority, team, title, components and tasks."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        working = ctx.working
        if not working.opening:
            return ctx, alerts  # most rounds of a storm open nothing: no call per alert
        for alert in alerts:
            for incident in working.opened_by(alert.fingerprint):
                _categorise(ctx, incident, alert)
        return ctx, alerts


def _categorise(ctx: CorrelationContext, incident: Incident, alert: Alert) -> None:
    decided = ctx.rules.categorise(alert.labels, alert.annotations)
    # The route, else the incident's service or team, else the root (rules.assignment).
    policy = ctx.rules.policy_for(incident.route or ctx.rules.route, decided)
    # The category may set its own hold (rules.correlation.TuningOverride): the incident,
    # opened in this step, is held back by it or let go, as if it had opened that way.
    tuning = ctx.rules.tuning_for(incident.route, decided.category, ctx.tuning)
    held = holds(tuning) and not release_due(tuning, incident, ctx.now)
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
        held=held,
    )
    ctx.working.put(categorised)
    recorded = {name: getattr(categorised, name) for name in _RECORDED}
    # Impact and urgency by the names the rules give them, as the incident API shows them.
    matrix = ctx.rules.priority.matrix
    recorded["impact"] = level_name(decided.impact, matrix.impacts)
    recorded["urgency"] = level_name(decided.urgency, matrix.urgencies)
    ctx.working.event(
        categorised,
        ctx.now,
        "categorised",
        **recorded,
        decided_by=dict(decided.decided_by),
        policy_from=policy.describe(),
    )
    # The category's tasks from the rules, each on the timeline (core.incident_actions).
    if decided.tasks:
        tasked = rules_tasks(categorised, decided.tasks, ctx.now)
        categorised = tasked.incident
        ctx.working.put(categorised)
        for event in tasked.events:
            ctx.working.record(event)
    # Alerts that joined after the opener in this round met an uncategorised incident:
    # they may raise its urgency now, in the order they joined.
    for fingerprint, entry in categorised.alerts.items():
        if fingerprint != alert.fingerprint:
            categorised = raise_urgency(ctx, categorised, entry)
