"""A source's acknowledgement (PagerDuty's ``acknowledge`` event) on its incident's timeline.

PagerDuty senders acknowledge an alert by its dedup key; ingest logs that as the alert
with ``acknowledged`` set and no labels. It is no new state of the condition: it goes on
the timeline of each open incident the alert is part of, and goes no further (an
acknowledgement never fires or refreshes an alert, nor opens an incident). The incident's
own state is left as it is: acknowledging it is the lifecycle's business.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.model import Alert
from correlate.context import CorrelationContext


class SourceAcknowledgeStage:
    """Records each acknowledgement on its incidents' timelines and drops it from the pipeline."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        if not any(alert.acknowledged for alert in alerts):
            return ctx, alerts  # the common case: one pass, no copy
        kept: list[Alert] = []
        for alert in alerts:
            if not alert.acknowledged:
                kept.append(alert)
                continue
            for _route, group_key in ctx.groups[alert.fingerprint]:
                head = await ctx.working.head(group_key)
                if head is None or not head.is_open or alert.fingerprint not in head.alerts:
                    continue  # no incident of its own to tell: nothing to record
                ctx.working.event(
                    head,
                    ctx.now,
                    "source_acknowledged",
                    fingerprint=alert.fingerprint,
                    source=alert.source,
                    dedup_key=alert.dedup_key,
                )
        return ctx, kept
