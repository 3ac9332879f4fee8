"""Dedup by fingerprint: an unchanged repeat only refreshes counts and last-seen times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext


class DedupStage:
    """Marks alerts whose status did not change since the incident last saw them.

    Duplicates still pass (their counts and last-seen times are kept up to date, and a
    fresh ``ends_at`` keeps them from expiring) but they add no timeline event and
    trigger no transition.
    """

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        duplicates = set(ctx.duplicates)
        for alert in alerts:
            for _route, group_key in ctx.routes.groups(ctx.rules, alert.fingerprint, alert.labels):
                head = await ctx.working.head(group_key)
                known = None if head is None else head.alerts.get(alert.fingerprint)
                if (
                    known is not None
                    and known.status is alert.status
                    and head is not None
                    and head.is_open
                ):
                    duplicates.add(alert.fingerprint)
        if len(duplicates) == len(ctx.duplicates):
            return ctx, alerts
        return replace(ctx, duplicates=frozenset(duplicates)), alerts
