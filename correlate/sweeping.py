"""What the sweep does to one open incident: the decisions time alone makes.

A firing alert whose end passed, or that was not refreshed for ``resolve_timeout``,
expires (resolved; the source may have died); a held incident whose threshold is met is
released; an incident whose alerts all resolved resolves once its delay or flap
hold-down passed (marked stale-resolved if expiry resolved its last alert); and its
next sweep is worked out again, exactly (``sweep_due.next_sweep``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime

from core.incident import OPEN_STATES, Incident, IncidentAlert
from core.model import AlertStatus
from core.store import IncidentQuery
from correlate.context import CorrelationContext
from correlate.firing import OPEN_SCAN_LIMIT
from correlate.stages.group import last_change, release_due, resolve_if_due
from correlate.sweep_due import next_sweep
from rules.model import Rules

# How often the sweep reads every open incident, not only those due (see SweepScope).
_FULL_SWEEP_SECONDS = 300.0


class SweepScope:
    """Which incidents a sweep reads: the due ones; all open ones now and then.

    All of them at first, after a reload, and every 5 minutes: the full pass makes up
    for times worked out under other rules (a reload that shortens ``resolve_timeout``)
    and for incidents written by older versions.
    """

    def __init__(self) -> None:
        self._swept_rules: Rules | None = None
        self._full_sweep_at = 0.0

    def query(self, rules: Rules, now: datetime) -> IncidentQuery:
        """The query of the incidents to sweep at ``now`` under ``rules``."""
        loop_now = asyncio.get_running_loop().time()
        if rules is self._swept_rules and loop_now < self._full_sweep_at:
            return IncidentQuery(states=OPEN_STATES, sweep_due_by=now, limit=OPEN_SCAN_LIMIT)
        self._swept_rules = rules
        self._full_sweep_at = loop_now + _FULL_SWEEP_SECONDS
        return IncidentQuery(states=OPEN_STATES, limit=OPEN_SCAN_LIMIT)


def sweep_incident(ctx: CorrelationContext, incident: Incident) -> tuple[Incident, bool]:
    """Returns the incident after what is due at ``ctx.now``, and whether that changed it.

    The incident comes back as the same object if nothing changed, not even its next
    sweep time (which alone does not count as a change). Timeline events go to
    ``ctx.working``; the caller puts the result there.
    """
    now = ctx.now
    updated = _expire(ctx, incident)
    if updated.held and release_due(ctx.tuning, updated, now):
        updated = replace(updated, held=False)
        ctx.working.event(updated, now, "released", firing=updated.firing_count())
    if updated.is_open and updated.firing_count() == 0:
        updated = resolve_if_due(ctx, updated, now, stale=updated is not incident)
    changed = updated is not incident
    due = next_sweep(ctx.tuning, updated, last_change(updated))
    if due != updated.sweep_at:
        updated = replace(updated, sweep_at=due)
    return updated, changed


def _expire(ctx: CorrelationContext, incident: Incident) -> Incident:
    """Resolves alerts whose end passed, or that were not refreshed for the resolve timeout."""
    now = ctx.now
    timeout = ctx.tuning.resolve_timeout
    expired: dict[str, IncidentAlert] = {}
    for fingerprint, alert in incident.alerts.items():
        if alert.status is not AlertStatus.FIRING:
            continue
        if (alert.ends_at is not None and alert.ends_at <= now) or (
            alert.ends_at is None
            and timeout.total_seconds() > 0
            and now - alert.last_seen >= timeout
        ):
            expired[fingerprint] = replace(
                alert, status=AlertStatus.RESOLVED, transitions=(*alert.transitions, now)
            )
            ctx.working.event(
                incident,
                now,
                "alert_expired",
                fingerprint=fingerprint,
                reason="not refreshed before its end; the source may have died",
            )
    if not expired:
        return incident
    # A new dict: the incident as read stays as it was (WorkingSet compares the two).
    return replace(incident, alerts={**incident.alerts, **expired})
