"""Resolves that confirm an expiry: Alertmanager relaying the end of an alert it expired.

When Prometheus dies, Alertmanager expires its alerts itself once the end Prometheus
last promised (``endsAt``) passes, and then sends a resolve whose ``endsAt`` is that
very end. Prometheus' own resolve carries the time it resolved the alert, before the
end it had promised. So a resolve whose end is not before the alert's known end (the
later of the end in its incident and the latest its sender gave since,
``core.store.AlertEnds``) confirms an expiry rather than reporting a fix: the alert is
marked expired, timed at that end, and an incident it resolves is stale-resolved with
the expiry's reason. An expiry the sweep applied and the relay's resolve of it are one
state change, not two (the flap stage times the change at the end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from core.model import Alert, AlertStatus
from core.store import AlertEnds
from correlate.context import CorrelationContext
from correlate.positions import is_after


class ExpiryConfirmStage:
    """Finds the resolves that confirm an expiry; records them in ``ctx.expiries``.

    ``ends`` is where the latest ends senders gave are read (None: only the ends the
    incidents hold count).
    """

    def __init__(self, ends: AlertEnds | None = None) -> None:
        self._ends = ends

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        # fingerprint -> (the resolve's end, the end known from the incident)
        candidates: dict[str, tuple[datetime, datetime]] = {}
        for alert in alerts:
            end = alert.ends_at
            if alert.status is not AlertStatus.RESOLVED or end is None:
                continue  # the hot path: most entries are firing resends
            head = await ctx.working.head(ctx.groups[alert.fingerprint][0][1])
            known = None if head is None else head.alerts.get(alert.fingerprint)
            if (
                known is None
                or known.ends_at is None
                # Only the end of a firing episode (or of one that expired) is confirmed;
                # a repeat of a sender's resolve is no expiry.
                or not (known.status is AlertStatus.FIRING or known.expired)
                or end < known.ends_at
                or not is_after(ctx.positions[alert.fingerprint], known.position)
            ):
                continue
            candidates[alert.fingerprint] = (end, known.ends_at)
        if not candidates:
            return ctx, alerts
        latest = {} if self._ends is None else await self._ends.latest_ends(candidates.keys())
        expiries = dict(ctx.expiries)
        for fingerprint, (end, known_end) in candidates.items():
            expected = max(known_end, latest.get(fingerprint, known_end))
            if end >= expected:
                expiries[fingerprint] = expected
        return replace(ctx, expiries=expiries), alerts
