"""Dedup by fingerprint: an unchanged repeat only refreshes counts and last-seen times.

Most of the log is repeats (Prometheus' refreshes, Alertmanager resending the group).
A repeat whose status and muting did not change, for an alert already in the open
incident of every group it belongs to, is counted here (count, last seen, its new
``ends_at`` so that it does not expire) and leaves the pipeline: it cannot change an
incident's state, so flap counting, grouping and categorisation never see it.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.incident import Incident, new_incident_alert
from core.model import Alert
from correlate.context import CorrelationContext
from correlate.positions import is_after


class DedupStage:
    """Counts unchanged repeats on their incidents and drops them from the pipeline."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        kept: list[Alert] = []
        for alert in alerts:
            heads: list[Incident] = []
            for _route, group_key in ctx.groups[alert.fingerprint]:
                head = await ctx.working.head(group_key)
                if head is None or not _repeats(ctx, head, alert):
                    break
                heads.append(head)
            else:
                for head in heads:
                    _count(ctx, head, alert)
                continue
            kept.append(alert)
        return ctx, kept


def _repeats(ctx: CorrelationContext, incident: Incident, alert: Alert) -> bool:
    known = incident.alerts.get(alert.fingerprint)
    return (
        incident.is_open
        and known is not None
        and known.status is alert.status
        and known.muted_by == ctx.mutes.get(alert.fingerprint)
        and is_after(ctx.positions[alert.fingerprint], known.position)
    )


def _count(ctx: CorrelationContext, incident: Incident, alert: Alert) -> None:
    known = incident.alerts[alert.fingerprint]
    # Built directly (core.direct_init): dataclasses.replace costs several times more,
    # and most of the log is repeats.
    counted = new_incident_alert(
        known.fingerprint,
        known.labels,
        known.status,
        known.first_seen,
        ctx.now,  # last seen
        known.count + 1,
        ctx.positions[alert.fingerprint],
        alert.ends_at,
        known.transitions,
        known.muted_by,
        alert.annotations,  # the latest report's, by reference
        alert.generator_url,
        alert.starts_at,
        known.first_received_at,
        alert.received_at,  # last received
    )
    ctx.working.with_alert(incident, counted)
