"""A source's acknowledgement (PagerDuty's ``acknowledge`` event) acknowledges its incident.

PagerDuty senders acknowledge an alert by its dedup key; ingest logs that as the alert
with ``acknowledged`` set and no labels. It is no new state of the condition: it goes on
the timeline (``source_acknowledged``) of each open incident the alert is part of, and
goes no further (an acknowledgement never fires or refreshes an alert, nor opens an
incident). A triggered incident is then acknowledged through the lifecycle
(``source_acknowledge``: automatic, by the actor ``pagerduty:<source name>``), as
PagerDuty acknowledges the incident of the dedup key; one already acknowledged, on hold
or resolved keeps its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from core.incident import Incident, IncidentState
from core.lifecycle import Actor, apply
from core.lifecycle_requests import SourceAcknowledge
from core.model import Alert
from correlate.context import CorrelationContext

# Read in C for every entry: a generator's resumption per alert cost more.
_ACKNOWLEDGED = attrgetter("acknowledged")


class SourceAcknowledgeStage:
    """Records each acknowledgement, acknowledges triggered incidents, drops it from the flow."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        if not any(map(_ACKNOWLEDGED, alerts)):
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
                if head.state is IncidentState.TRIGGERED:
                    _acknowledge(ctx, head, alert)
        return ctx, kept


def _acknowledge(ctx: CorrelationContext, incident: Incident, alert: Alert) -> None:
    """Acknowledges the incident for the alert's sender (core.lifecycle owns the change)."""
    request = SourceAcknowledge(alert.source, alert.fingerprint, alert.dedup_key)
    actor = Actor(f"pagerduty:{alert.source}", None)  # automatic, attributed to the sender
    change = apply(incident, request, actor, ctx.now, ctx.rules.lifecycle)
    ctx.working.put(change.incident)
    ctx.working.record(change.event)
