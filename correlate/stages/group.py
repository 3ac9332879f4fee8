"""Grouping: each alert joins, opens or reopens the incident of its route's group.

Per route the alert ends in (Alertmanager's routing tree, ``continue`` included), the
group key decides the incident. A firing alert with no open incident opens one; one
that fires again while its group's incident is resolved within the reopen window
reopens it (a resend of an alert still firing is no new firing: a person may have
resolved the incident while it fired), later opens a new one; a closed incident is
final; a resolve for a group with no incident is ignored. The incident-level
consequences of the flap count (the flapping flag, the hold-down before resolving) and
the hold-back threshold are applied here, where the incident is at hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from sys import intern
from typing import Any

from core.incident import Incident, IncidentAlert, IncidentState, new_incident_alert
from core.lifecycle import Transitioned, apply, tocsin
from core.lifecycle_requests import AutoReopen, AutoResolve, Request
from core.model import Alert, AlertStatus, interned
from core.timestamps import format_rfc3339
from correlate.context import CorrelationContext
from correlate.positions import is_after
from correlate.resolves import kept_annotations, kept_start, kept_url
from correlate.stages.urgency import raise_urgency
from correlate.sweep_due import reopened_by_hand
from correlate.working import UNREAD
from rules.correlation import Tuning
from rules.durations import format_duration
from rules.routing import Route

# The alerts a ``muted`` or ``unmuted`` event lists; ``count`` says how many changed. A
# window closing over a storm incident changes thousands, and a timeline entry stays small.
MUTES_LISTED = 20


class GroupStage:
    """Applies each alert to its incidents in the working set."""

    async def __call__(
        self, ctx: CorrelationContext, alerts: Sequence[Alert]
    ) -> tuple[CorrelationContext, Sequence[Alert]]:
        working = ctx.working
        for alert in alerts:
            for route, group_key in ctx.groups[alert.fingerprint]:
                head = working.head_read(group_key)
                if head is UNREAD:
                    head = await working.head(group_key)
                _apply(ctx, alert, route, group_key, head)
        return ctx, alerts


def _apply(
    ctx: CorrelationContext, alert: Alert, route: Route, group_key: str, head: Incident | None
) -> None:
    """Applies the alert to the group's incident; ``head`` is the group's head incident."""
    now = ctx.now
    firing = alert.status is AlertStatus.FIRING
    if head is None or (
        # Only a resolved or closed incident can be finished: no call for an open one.
        (head.state is IncidentState.RESOLVED or head.state is IncidentState.CLOSED)
        and _finished(head, route, now, alert.fingerprint)
    ):
        if not firing:
            return  # nothing to resolve: the alert was never part of an open incident
        incident = _open(ctx, alert, route, group_key)
    elif (
        head.state is IncidentState.RESOLVED
        and firing
        and _changes(head, alert, ctx.positions[alert.fingerprint])
    ):
        reason = "an alert fired again within the reopen window"
        # Timed at the alert's receipt, as a resolve is: in log time, so that an alert
        # change after it is never timed before it (see sweep_due.reopened_by_hand).
        reopen = AutoReopen(reason, alert.fingerprint)
        incident = _record(ctx, _lifecycle(ctx, head, reopen, alert.received_at))
    else:
        incident = head
    incident, entry = _update_alert(ctx, incident, alert)
    if entry is None:
        ctx.working.put(incident)
        return
    incident = _judge(ctx, incident, entry)
    urgency = incident.urgency
    if urgency is not None and urgency > ctx.most_urgent:
        # Only an incident less urgent than some alert can be: most are not (a call less).
        incident = raise_urgency(ctx, incident, entry)
    ctx.working.put(incident)
    if incident.is_open:
        ctx.firing.set(entry.fingerprint, entry.labels, entry.status is AlertStatus.FIRING)
    else:
        ctx.firing.update(incident)


def _finished(head: Incident, route: Route, now: datetime, fingerprint: str) -> bool:
    """Tells whether the group starts afresh for the alert: a new incident if it fires.

    A closed incident is final. One resolved longer ago than the reopen window is
    finished too, except for an alert it still holds firing (a person resolved it while
    the alert fired): that alert's resends and its resolve stay with it, and only its
    next firing transition, or a new alert, opens a new incident.
    """
    if head.state is IncidentState.CLOSED:
        return True
    if (
        head.state is not IncidentState.RESOLVED
        or head.resolved_at is None
        or now - head.resolved_at <= route.reopen_window
    ):
        return False
    known = head.alerts.get(fingerprint)
    return known is None or known.status is not AlertStatus.FIRING


def _changes(incident: Incident, alert: Alert, position: str) -> bool:
    known = incident.alerts.get(alert.fingerprint)
    return known is None or (
        is_after(position, known.position) and known.status is not alert.status
    )


def _open(ctx: CorrelationContext, alert: Alert, route: Route, group_key: str) -> Incident:
    """Opens an incident for the group; the categorise stage then says what it is."""
    incident = Incident(
        id=uuid.uuid4().hex,
        group_key=group_key,
        # Until the categorise stage renders the title: what the alert is called or says.
        title=alert.labels.get("alertname") or alert.annotations.get("summary") or group_key,
        state=IncidentState.TRIGGERED,
        opened_at=ctx.now,
        alerts={},
        route=route.key,
        policy=route.policy,
        # The route's timings; categorisation, later in the step, may lift the hold.
        held=holds(ctx.rules.tuning_for(route.key, None, ctx.tuning)),
    )
    ctx.working.opened(incident, alert.fingerprint)
    ctx.working.event(incident, ctx.now, "opened", group_key=group_key, route=route.key)
    return incident


def _update_alert(
    ctx: CorrelationContext, incident: Incident, alert: Alert
) -> tuple[Incident, IncidentAlert | None]:
    """Returns the incident with the alert's new state, and that state (None: entry too old)."""
    now = ctx.now
    position = ctx.positions[alert.fingerprint]
    known = incident.alerts.get(alert.fingerprint)
    muted_by = ctx.mutes.get(alert.fingerprint)
    if known is not None and not is_after(position, known.position):
        return incident, None  # an older entry arriving late never overrides a newer one
    if known is None:
        # Positional, built directly: one per entry (core.direct_init).
        entry = new_incident_alert(
            alert.fingerprint,
            interned(alert.labels),  # kept as long as the incident is cached
            alert.status,
            now,  # first seen
            now,  # last seen
            1,  # count
            position,
            alert.ends_at,
            (),  # transitions
            muted_by,
            alert.annotations,  # by reference: one mapping per alert, never copied
            intern(alert.generator_url),
            alert.starts_at,
            alert.received_at,  # first received
            alert.received_at,  # last received
            False,  # expired
            alert.dedup_key,
        )
        ctx.working.joined(incident, now, entry)
    else:
        transitions = ctx.flaps.get(alert.fingerprint, known.transitions)
        # A resolve confirming an expiry (correlate.stages.expiry): Tocsin's expiry, late.
        expired_at = ctx.expiries.get(alert.fingerprint)
        if known.status is not alert.status and expired_at is not None:
            _expired_event(ctx, incident, known, expired_at)
        elif known.status is not alert.status:
            ctx.working.event(
                incident, now, f"alert_{alert.status.value}", fingerprint=alert.fingerprint
            )
        # Built directly: dataclasses.replace costs several times more, once per entry.
        entry = new_incident_alert(
            known.fingerprint,
            known.labels,
            alert.status,
            known.first_seen,
            now,  # last seen
            known.count + 1,
            position,
            alert.ends_at,
            transitions,
            muted_by,
            kept_annotations(known, alert),
            kept_url(known, alert),
            kept_start(known, alert),
            known.first_received_at,
            alert.received_at,  # last received
            expired_at is not None,  # else not expired: the sender reported it
            alert.dedup_key or known.dedup_key,
        )
    if muted_by is not None and known is not None and known.muted_by != muted_by:
        # A new alert's mute is in its join record (WorkingSet.joined): one entry per
        # step for a storm that joins muted, not one per alert.
        mute_event(ctx, incident, "muted", muted_by, [alert.fingerprint])
    elif muted_by is None and known is not None and known.muted_by is not None:
        # What muted it ended before the sweep saw it (correlate.mute_follow): say so.
        reason = f"no longer in force: {known.muted_by}"
        mute_event(ctx, incident, "unmuted", reason, [alert.fingerprint])
    return ctx.working.with_alert(incident, entry), entry


def _expired_event(
    ctx: CorrelationContext, incident: Incident, known: IncidentAlert, at: datetime
) -> None:
    """Puts an ``alert_expired`` on the timeline, as the sweep's expiry does."""
    ctx.working.event(
        incident,
        ctx.now,
        "alert_expired",
        fingerprint=known.fingerprint,
        reason=expiry_reason(known, ctx.tuning_of(incident)),
        expired_at=format_rfc3339(at),
    )


def mute_event(
    ctx: CorrelationContext, incident: Incident, kind: str, reason: str, fingerprints: list[str]
) -> None:
    """Puts a ``muted`` or ``unmuted`` event on the timeline: one shape whatever caused it.

    ``fingerprints`` are the alerts that changed; the first :data:`MUTES_LISTED` are
    listed and ``count`` says how many there were.
    """
    ctx.working.event(
        incident,
        ctx.now,
        kind,
        reason=reason,
        fingerprints=fingerprints[:MUTES_LISTED],
        count=len(fingerprints),
    )


def _judge(ctx: CorrelationContext, incident: Incident, entry: IncidentAlert) -> Incident:
    """Updates the incident-level flags after ``entry`` changed, and resolves if due.

    Only the changed alert is looked at where that suffices, so a storm incident with
    hundreds of alerts costs little per entry; whole-incident scans happen only when an
    alert resolves or its muting changed. The incident's timings are looked up only
    when a test needs them: most entries are of an alert that never changed state,
    joining an incident no longer held.
    """
    now = ctx.now
    if (
        not incident.flapping
        and entry.transitions
        and len(entry.transitions) >= (tuning := ctx.tuning_of(incident)).flap_changes
    ):
        incident = replace(incident, flapping=True)
        ctx.working.event(
            incident,
            now,
            "flapping",
            reason=f"{tuning.flap_changes} state changes within "
            f"{format_duration(tuning.flap_window)}",
        )
    is_firing = entry.status is AlertStatus.FIRING
    if is_firing and entry.muted_by is None:
        muted = False
    elif entry.muted_by is not None or incident.muted:
        firing = [a for a in incident.alerts.values() if a.status is AlertStatus.FIRING]
        # With nothing firing, the incident keeps what it was: a silenced incident that
        # resolves stays a silenced one.
        muted = all(a.muted_by is not None for a in firing) if firing else incident.muted
    else:
        muted = incident.muted
    if muted != incident.muted:
        incident = replace(incident, muted=muted)
    if incident.held and release_due(ctx.tuning_of(incident), incident, now):
        incident = replace(incident, held=False)
        ctx.working.event(incident, now, "released", firing=incident.firing_count())
    if not is_firing and incident.is_open and incident.firing_count() == 0:
        # Judged at the entry's own time (when Tocsin received it), not when the
        # correlator got to it: a correlator behind the log must not cut a delay short.
        incident = resolve_if_due(ctx, incident, entry.last_received_at or now)
    return incident


def holds(tuning: Tuning) -> bool:
    """Tells whether incidents with these timings open held back (a hold is set)."""
    return tuning.hold_alerts > 1 or tuning.hold_duration.total_seconds() > 0


def release_due(tuning: Tuning, incident: Incident, now: datetime) -> bool:
    """Tells whether a held incident has met its threshold (enough alerts, or open long enough).

    Never with nothing firing: an incident whose alerts all resolved while it was held
    (a blip) is never released, so it never pages, as PagerDuty's auto-pause.
    """
    firing = incident.firing_count()
    if firing == 0:
        return False
    if tuning.hold_alerts > 1 and firing >= tuning.hold_alerts:
        return True
    return (
        tuning.hold_duration.total_seconds() > 0
        and now - incident.opened_at >= tuning.hold_duration
    )


def _changed_at(alert: IncidentAlert) -> datetime:
    # Transitions are log times (receipt, or the end an expiry passed); an alert that
    # never changed counts from its first receipt.
    if alert.transitions:
        return max(alert.transitions)
    return alert.first_received_at or alert.first_seen


def last_change(incident: Incident) -> datetime:
    """Returns when any of the incident's alerts last changed state (or joined), in log time."""
    return max((_changed_at(a) for a in incident.alerts.values()), default=incident.opened_at)


def expiry_reason(alert: IncidentAlert, tuning: Tuning) -> str:
    """Says why an expired alert was resolved by Tocsin rather than by its sender."""
    if alert.ends_at is not None:
        return "expired: not refreshed before its end (the source may have died)"
    timeout = format_duration(tuning.resolve_timeout)
    return f"expired: not refreshed within resolve_timeout ({timeout})"


def _stale_by(incident: Incident) -> IncidentAlert | None:
    """The alert whose expiry resolved the incident's last firing alert, if it was one.

    An incident is stale-resolved when expiry, not a sender, ended it: the alert that
    resolved last was expired. An explicit resolve is never stale.
    """
    last = max(incident.alerts.values(), key=_changed_at, default=None)
    return last if last is not None and last.expired else None


def resolve_if_due(ctx: CorrelationContext, incident: Incident, now: datetime) -> Incident:
    """Resolves an incident whose alerts all resolved, once any delay or hold-down passed.

    It is marked stale-resolved, with the expiry's reason, when the alert that resolved
    last expired (see :func:`_stale_by`), however long the delay was. One a person
    reopened after its alerts resolved stays open (sweep_due.reopened_by_hand).
    """
    tuning = ctx.tuning_of(incident)
    wait = tuning.flap_hold_down if incident.flapping else tuning.resolve_delay
    changed = last_change(incident)
    if now - changed < wait or reopened_by_hand(incident, changed):
        return incident
    stale_by = _stale_by(incident)
    reason = "all its alerts resolved" if stale_by is None else expiry_reason(stale_by, tuning)
    change = _lifecycle(ctx, incident, AutoResolve(reason, stale=stale_by is not None), now)
    return _record(ctx, change, flapping=incident.flapping)


def _lifecycle(
    ctx: CorrelationContext, incident: Incident, request: Request, now: datetime
) -> Transitioned:
    """The incident after an automatic transition (core.lifecycle owns them all)."""
    return apply(incident, request, tocsin(), now, ctx.rules.lifecycle)


def _record(ctx: CorrelationContext, change: Transitioned, **more: Any) -> Incident:
    """Puts the transition's event on the timeline; returns the changed incident."""
    event = change.event
    ctx.working.event(change.incident, event.at, event.kind, **event.detail, **more)
    return change.incident
