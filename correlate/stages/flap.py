"""Flap damping: counts each alert's recent state changes, from the history its incident keeps.

The count is what the grouping stage records on the alert; an incident whose alert
changed state ``flap_changes`` times within ``flap_window`` is marked flapping there and
then resolves only after a quiet hold-down (see ``resolve_if_due``).

Changes are timed by the log (when Tocsin received each entry), not by when the
correlator got to them: a correlator catching up on a backlog sees the changes of
twenty minutes in a second, and must not call them a flap. A resolve that confirms an
expiry (``correlate.stages.expiry``) is timed at the end that passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.model import Alert
from correlate.context import CorrelationContext
from correlate.positions import is_after
from correlate.working import UNREAD


class FlapStage:
    """Works out, per alert, the state changes within the flap window including this one."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        flaps = dict(ctx.flaps)
        for alert in alerts:
            groups = ctx.groups[alert.fingerprint]
            # The alert's history lives in the incident of its first route.
            head = ctx.working.head_read(groups[0][1])
            if head is UNREAD:
                head = await ctx.working.head(groups[0][1])
            known = None if head is None else head.alerts.get(alert.fingerprint)
            if head is None or known is None:
                continue  # a new alert has no history yet
            changed = known.status is not alert.status and is_after(
                ctx.positions[alert.fingerprint], known.position
            )
            if not changed and not known.transitions:
                continue  # a plain resend of a steady alert: nothing to count
            # A resolve confirming an expiry changed the alert when its end passed, as
            # the sweep's expiry would have: the two are one change, timed alike.
            at = ctx.expiries.get(alert.fingerprint, alert.received_at)
            window = ctx.tuning_of(head).flap_window
            recent = tuple(t for t in known.transitions if t > at - window)
            flaps[alert.fingerprint] = (*recent, at) if changed else recent
        if len(flaps) == len(ctx.flaps):
            return ctx, alerts
        return replace(ctx, flaps=flaps), alerts
