"""When the sweep must next look at an incident: its earliest pending time-based decision.

Time alone decides five things (see ``Correlator.sweep``): a firing alert expires at its
end (or, without one, ``resolve_timeout`` after it was last seen); an incident whose
alerts all resolved resolves after ``resolve_delay`` (``flap_hold_down`` if flapping); a
held incident is released after ``hold_duration``; a resolved incident closes itself
after the rules' ``lifecycle.auto_close_after`` (its alerts still firing expire as an
open incident's do). The store indexes each incident by the earliest of these
(``Incident.sweep_at``), so a sweep reads only the incidents that are due instead of
every open one with all its alerts.

:func:`next_sweep` is exact and looks at every alert; the sweep uses it on the incidents
it reads anyway. :func:`sweep_after_step` is what a correlation step uses: it looks only
at the alerts the step changed, and may answer earlier than needed, never later (a
sweep that comes early recomputes the exact time and moves on).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.incident import Incident, IncidentAlert, IncidentState
from core.model import AlertStatus
from rules.correlation import Tuning


def alert_expiry(tuning: Tuning, alert: IncidentAlert) -> datetime | None:
    """When a firing alert expires if nothing refreshes it; None if never (or not firing)."""
    if alert.status is not AlertStatus.FIRING:
        return None
    if alert.ends_at is not None:
        return alert.ends_at
    if tuning.resolve_timeout.total_seconds() > 0:
        return (alert.last_received_at or alert.last_seen) + tuning.resolve_timeout
    return None


def _release(tuning: Tuning, incident: Incident) -> datetime | None:
    if incident.held and tuning.hold_duration.total_seconds() > 0:
        return incident.opened_at + tuning.hold_duration
    return None


def _resolve_wait(tuning: Tuning, incident: Incident) -> timedelta:
    # How long an incident whose alerts all resolved waits before it resolves.
    return tuning.flap_hold_down if incident.flapping else tuning.resolve_delay


def next_sweep(
    tuning: Tuning,
    incident: Incident,
    last_change: datetime,
    close_at: datetime | None = None,
) -> datetime | None:
    """The exact next time the sweep has work on ``incident``; None if it has none.

    ``last_change`` is when any of its alerts last changed state (the resolve delay and
    the flap hold-down run from it). A resolved incident is due when it closes itself
    (``close_at``, core.lifecycle.auto_close_due) or an alert it still holds firing
    expires (unless it was merged into another); a closed one never.
    """
    if not incident.is_open:
        if incident.state is not IncidentState.RESOLVED:
            return None
        if incident.merged_into is not None:
            return close_at  # its alerts moved: they expire where they went
    times = [t for t in (alert_expiry(tuning, a) for a in incident.alerts.values()) if t]
    if not incident.is_open:
        return min([*times, close_at] if close_at is not None else times, default=None)
    firing = any(a.status is AlertStatus.FIRING for a in incident.alerts.values())
    if not firing and not reopened_by_hand(incident, last_change):
        times.append(last_change + _resolve_wait(tuning, incident))
    release = _release(tuning, incident)
    if release is not None:
        times.append(release)
    return min(times, default=None)


def reopened_by_hand(incident: Incident, last_change: datetime) -> bool:
    """Tells whether a person reopened the incident after its alerts last changed.

    Its alerts' resolution is then old news: they do not resolve it again, only a change
    of one of them (or a person) does. Tocsin reopens only for an alert firing, timed at
    its receipt, so an incident it reopened never looks reopened by hand.
    """
    changed = incident.state_changed_at
    return (
        incident.state is IncidentState.TRIGGERED
        and incident.reopen_count > 0
        and changed is not None
        and changed > last_change
    )


def sweep_after_step(
    tuning: Tuning,
    before: Incident | None,
    after: Incident,
    changed: Iterable[IncidentAlert],
    now: datetime,
) -> datetime | None:
    """A time no later than the incident's next sweep, from the alerts a step changed.

    ``before`` is the incident as the step read it (None if the step opened it). A
    resolved incident keeps the time it holds (its auto-close, set by core.lifecycle,
    or earlier) unless an alert it holds firing expires sooner; a closed one has none.
    """
    if not after.is_open:
        if after.state is not IncidentState.RESOLVED:
            return None
        times = [t for t in (alert_expiry(tuning, a) for a in changed) if t]
        return min([*times, after.sweep_at] if after.sweep_at else times, default=None)
    times = []
    if before is not None and before.sweep_at is not None:
        # An incident read resolved holds its own alerts' expiries and its auto-close:
        # one reopened keeps them (at worst a sweep comes early and works it out again).
        times.append(before.sweep_at)
    for alert in changed:
        expiry = alert_expiry(tuning, alert)
        if expiry is not None:
            times.append(expiry)
        elif alert.status is AlertStatus.RESOLVED:
            # Perhaps the last firing alert: the incident may resolve after the wait.
            times.append(now + _resolve_wait(tuning, after))
    release = _release(tuning, after)
    if release is not None:
        times.append(release)
    return min(times, default=None)
