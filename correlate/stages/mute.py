"""Silences and maintenance windows: they mute notifications, never drop an alert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext
from correlate.mutes import MuteInForce
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
            reason = silenced_by(ctx.mutes_in_force, alert.labels)
            if reason is not None:
                mutes[alert.fingerprint] = reason
        if len(mutes) == len(ctx.mutes):
            return ctx, alerts
        return replace(ctx, mutes=mutes), alerts


def silenced_by(mutes: Sequence[MuteInForce], labels: Mapping[str, str]) -> str | None:
    """Why a silence or maintenance window in force mutes these labels (the first), or None."""
    for mute in mutes:
        if matches_all(mute.matchers, labels):
            return mute.reason
    return None
