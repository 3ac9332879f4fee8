"""When the sweep must next look at an incident: its earliest pending time-based decision.

Time alone decides four things (see ``Correlator.sweep``): a firing alert expires at its
end (or, without one, ``resolve_timeout`` after it was last seen); an incident whose
alerts all resolved resolves after ``resolve_delay`` (``flap_hold_down`` if flapping); a
held incident is released after ``hold_duration``. The store indexes each incident by
the earliest of these (``Incident.sweep_at``), so a sweep reads only the incidents that
are due instead of every open one with all its alerts.

:func:`next_sweep` is exact and looks at every alert; the sweep uses it on the incidents
it reads anyway. :func:`sweep_after_step` is what a correlation step uses: it looks only
at the alerts the step changed, and may answer earlier than needed, never later (a
sweep that comes early recomputes the exact time and moves on).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.incident import Incident, IncidentAlert
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


def next_sweep(tuning: Tuning, incident: Incident, last_change: datetime) -> datetime | None:
    """The exact next time the sweep has work on ``incident``; None if it has none.

    ``last_change`` is when any of its alerts last changed state (the resolve delay and
    the flap hold-down run from it).
    """
    if not incident.is_open:
        return None
    times = [t for t in (alert_expiry(tuning, a) for a in incident.alerts.values()) if t]
    if not any(a.status is AlertStatus.FIRING for a in incident.alerts.values()):
        times.append(last_change + _resolve_wait(tuning, incident))
    release = _release(tuning, incident)
    if release is not None:
        times.append(release)
    return min(times, default=None)


def sweep_after_step(
    tuning: Tuning,
    before: Incident | None,
    after: Incident,
    changed: Iterable[IncidentAlert],
    now: datetime,
) -> datetime | None:
    """A time no later than the incident's next sweep, from the alerts a step changed.

    ``before`` is the incident as the step read it (None if the step opened it).
    """
    if not after.is_open:
        return None
    times: list[datetime] = []
    if before is not None and before.is_open and before.sweep_at is not None:
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
