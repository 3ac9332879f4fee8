"""Inhibition with Alertmanager's semantics: a firing source alert mutes matching targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext
from correlate.firing import FiringIndex
from correlate.routes import RouteCache
from rules.model import Rules
from rules.muting import InhibitRule


class InhibitStage:
    """Records for each alert the inhibit rule and firing alert that mute it, if any."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        if not ctx.rules.inhibit_rules:
            return ctx, alerts
        mutes = dict(ctx.mutes)
        for alert in alerts:
            fingerprint = alert.fingerprint
            if fingerprint in mutes or not ctx.routes.inhibit_targets(
                ctx.rules, fingerprint, alert.labels
            ):
                continue
            # The source its mute names now stays named while it fires: the sweep keeps
            # it so too (correlate.mute_follow), and a resend is then a plain repeat.
            prefer = await _muted_by_now(ctx, fingerprint)
            reason = inhibited_by(
                ctx.rules, ctx.routes, ctx.firing, fingerprint, alert.labels, prefer
            )
            if reason is not None:
                mutes[fingerprint] = reason
        if len(mutes) == len(ctx.mutes):
            return ctx, alerts
        return replace(ctx, mutes=mutes), alerts


def inhibited_by(
    rules: Rules,
    routes: RouteCache,
    firing: FiringIndex,
    fingerprint: str,
    labels: Mapping[str, str],
    prefer: str | None = None,
) -> str | None:
    """Why the alert is inhibited now (rule and firing source), or None if it is not.

    One index lookup per inhibit rule whose targets the alert matches (inhibit_index).
    ``prefer``, the reason the alert is muted for now, is kept while it still holds.
    """
    for rule in routes.inhibit_targets(rules, fingerprint, labels):
        preferred = _source_named(rule, prefer)
        source = firing.inhibition.source_for(rule, fingerprint, labels, preferred)
        if source is not None:
            return _reason(rule, source)
    return None


async def _muted_by_now(ctx: CorrelationContext, fingerprint: str) -> str | None:
    """Why the alert is muted in its open incident now, if it is (the first one it is in)."""
    for _route, group_key in ctx.groups[fingerprint]:
        head = await ctx.working.head(group_key)
        known = None if head is None or not head.is_open else head.alerts.get(fingerprint)
        if known is not None:
            return known.muted_by
    return None


def _reason(rule: InhibitRule, source: str) -> str:
    return f"{_prefix(rule)}{source})"


def _prefix(rule: InhibitRule) -> str:
    return f"inhibited by {rule.name or 'inhibit rule'} (firing alert "


def _source_named(rule: InhibitRule, reason: str | None) -> str | None:
    """The source a reason of :func:`_reason` for ``rule`` names, if it is one."""
    if reason is None:
        return None
    prefix = _prefix(rule)
    if reason.startswith(prefix) and reason.endswith(")"):
        return reason[len(prefix) : -1]
    return None
