"""Silences and maintenance windows: they mute notifications, never drop an alert."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from core.silence import SilenceState
from correlate.context import CorrelationContext
from rules.matchers import matches_all


class SilenceStage:
    """Records for each alert the silence or maintenance window that mutes it, if any."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        rules = ctx.rules
        if not (ctx.silences or rules.silences or rules.maintenance_windows):
            return ctx, alerts  # nothing can mute: the common case costs nothing
        mutes = dict(ctx.mutes)
        for alert in alerts:
            reason = _reason(ctx, alert)
            if reason is not None:
                mutes[alert.fingerprint] = reason
        if len(mutes) == len(ctx.mutes):
            return ctx, alerts
        return replace(ctx, mutes=mutes), alerts


def _reason(ctx: CorrelationContext, alert: Alert) -> str | None:
    for entry in ctx.silences:
        silence = entry.silence
        if silence.state(ctx.now) is SilenceState.ACTIVE and matches_all(
            entry.matchers, alert.labels
        ):
            return f"silence {silence.id} by {silence.created_by}: {silence.comment}"
    for rule_silence in ctx.rules.silences_for(alert.labels, ctx.now):
        return f"silence {rule_silence.name or 'from rules'}: {rule_silence.comment}"
    for window in ctx.rules.maintenance_for(alert.labels, ctx.now):
        return f"maintenance window {window.name} ({window.describe()})"
    return None
