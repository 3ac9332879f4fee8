"""Inhibition with Alertmanager's semantics: a firing source alert mutes matching targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext


class InhibitStage:
    """Records for each alert the inhibit rule and firing alert that mute it, if any."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        rules = ctx.rules.inhibit_rules
        if not rules:
            return ctx, alerts
        mutes = dict(ctx.mutes)
        for alert in alerts:
            if alert.fingerprint in mutes:
                continue
            for rule in ctx.routes.inhibit_targets(ctx.rules, alert.fingerprint, alert.labels):
                source = next(
                    (
                        fp
                        for fp, labels in ctx.firing.items()
                        if fp != alert.fingerprint and rule.inhibits(labels, alert.labels)
                    ),
                    None,
                )
                if source is not None:
                    name = rule.name or "inhibit rule"
                    mutes[alert.fingerprint] = f"inhibited by {name} (firing alert {source})"
                    break
        if len(mutes) == len(ctx.mutes):
            return ctx, alerts
        return replace(ctx, mutes=mutes), alerts
