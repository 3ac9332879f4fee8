"""Silences and maintenance windows: they mute notifications, never drop an alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext
from rules.matchers import matches_all


class SilenceStage:
    """Records for each alert the silence or maintenance window that mutes it, if any."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        if not ctx.mutes_in_force:
            return ctx, alerts  # nothing mutes now: the common case costs nothing
        mutes = dict(ctx.mutes)
        for alert in alerts:
            for mute in ctx.mutes_in_force:
                if matches_all(mute.matchers, alert.labels):
                    mutes[alert.fingerprint] = mute.reason
                    break
        if len(mutes) == len(ctx.mutes):
            return ctx, alerts
        return replace(ctx, mutes=mutes), alerts
