"""Dedup by fingerprint: an unchanged repeat only refreshes counts and last-seen times.

Most of the log is repeats (Prometheus' refreshes, Alertmanager resending the group).
A repeat whose status and muting did not change, for an alert already in the open
incident of every group it belongs to, is counted here (count, last seen, its new
``ends_at`` so that it does not expire) and leaves the pipeline: it cannot change an
incident's state, so flap counting, grouping and categorisation never see it.

A late copy is dropped too, and counted: an Alertmanager HA pair delivers every
notification from both peers, with jitter and out of order. Prometheus gives an alert
that fires again a new ``startsAt``, so a firing copy with the start of an alert its
sender already resolved is a stale copy of that episode, never a re-fire (an alert that
only expired, which its sender never resolved, fires again with it: the sender is
back). Likewise a resolve whose start is older than the firing alert's is a stale copy
of an earlier episode.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from core.incident import Incident, IncidentAlert, new_incident_alert
from core.model import Alert, AlertStatus
from correlate.context import CorrelationContext
from correlate.positions import is_after
from correlate.resolves import kept_annotations, kept_start, kept_url
from correlate.working import UNREAD


class DedupStage:
    """Counts unchanged repeats on their incidents; drops them and late copies from the pipeline.

    ``late_copies`` counts the late copies by status (``tocsin_correlator_late_copies_total``).
    """

    def __init__(self, late_copies: Counter | None = None) -> None:
        self._late_copies = late_copies

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        kept: list[Alert] = []
        working = ctx.working
        mutes = ctx.mutes
        positions = ctx.positions
        for alert in alerts:
            fingerprint = alert.fingerprint
            groups = ctx.groups[fingerprint]
            # The first group's head serves both tests: one look-up per alert, not two.
            first = working.head_read(groups[0][1])
            if first is UNREAD:
                first = await working.head(groups[0][1])
            known = None if first is None else first.alerts.get(fingerprint)
            if known is None:
                # New to its first group's incident: no repeat there, nor a late copy.
                kept.append(alert)
                continue
            if (
                # A repeat (see _repeats) in the one group most alerts are in, inline:
                # most of the log.
                known.status is alert.status
                and len(groups) == 1
                and first is not None
                and first.is_open
                and known.muted_by == mutes.get(fingerprint)
                and is_after(positions[fingerprint], known.position)
            ):
                _count(ctx, first, alert)
                continue
            # A copy of the status held is never late: most of the log, tested inline.
            if known.status is not alert.status and _late_copy(ctx, known, alert):
                if self._late_copies is not None:
                    self._late_copies.labels(alert.status.value).inc()
                continue
            heads: list[Incident] = []
            for index, (_route, group_key) in enumerate(groups):
                head = first if index == 0 else working.head_read(group_key)
                if head is UNREAD:
                    head = await working.head(group_key)
                if head is None or not _repeats(ctx, head, alert):
                    break
                heads.append(head)
            else:
                for head in heads:
                    _count(ctx, head, alert)
                continue
            kept.append(alert)
        return ctx, kept


def _late_copy(ctx: CorrelationContext, known: IncidentAlert, alert: Alert) -> bool:
    """Tells whether the entry is a late copy of an episode that already ended (see above).

    ``known`` is the alert as the head incident of its first group holds it, in the
    other status than the entry's.
    """
    if known.starts_at is None or not is_after(ctx.positions[alert.fingerprint], known.position):
        return False
    if alert.status is AlertStatus.FIRING:
        return not known.expired and alert.starts_at == known.starts_at
    return alert.starts_at < known.starts_at


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
    if alert.status is AlertStatus.FIRING:
        # The firing resend, most of the log, inline: it keeps its own start and
        # annotations (correlate.resolves says what a resolve keeps instead), and the
        # later of its ends.
        ends, end = known.ends_at, alert.ends_at
        later_end = end if ends is None or end is None or end > ends else ends
        annotations, start = alert.annotations, alert.starts_at
    else:
        later_end = alert.ends_at
        annotations, start = kept_annotations(known, alert), kept_start(known, alert)
    url = alert.generator_url
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
        later_end,
        known.transitions,
        known.muted_by,
        annotations,  # the latest report's, by reference
        # The URL the alert holds while it is the same (correlate.resolves.kept_url).
        known.generator_url if url == known.generator_url else kept_url(known, alert),
        start,
        known.first_received_at,
        alert.received_at,  # last received
        # The sender repeated it: not expired, unless it confirms the expiry (a relay).
        alert.fingerprint in ctx.expiries,
        alert.dedup_key or known.dedup_key,
    )
    ctx.working.with_alert(incident, counted)
