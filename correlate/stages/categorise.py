"""Categorisation and priority: what a newly opened incident is, from the rules.

Only incidents opened by this entry are categorised, from the alert that opened them
(ITIL logs and categorises at opening; later alerts join without recategorising).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext

# The decisions written to the timeline, so that a later recategorisation can be traced.
_RECORDED = ("title", "category", "service", "impact", "urgency", "priority", "team")


class CategoriseStage:
    """Sets category, service, impact, urgency, priority, team, title and components."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        for alert in alerts:
            for incident in ctx.working.opened_by(alert.fingerprint):
                decided = ctx.rules.categorise(alert.labels, alert.annotations)
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
                )
                ctx.working.put(categorised)
                ctx.working.event(
                    categorised,
                    ctx.now,
                    "categorised",
                    **{name: getattr(categorised, name) for name in _RECORDED},
                    decided_by=dict(decided.decided_by),
                )
        return ctx, alerts
