"""What the sweep does to one incident: the decisions time alone makes.

A firing alert whose latest end passed (the later of its logged end and the latest its
sender gave since, ``core.store.AlertEnds``), or that was not refreshed for
``resolve_timeout``, expires (resolved; the source may have died); a held incident
whose threshold is met is released (never with nothing firing); an incident whose
alerts all resolved resolves once its delay or flap hold-down passed (marked
stale-resolved if expiry resolved its last alert); a resolved incident closes itself
once the rules' ``lifecycle.auto_close_after`` passed (``auto_close``, by Tocsin; its
alerts still firing expire first, as an open incident's do); and its next sweep is
worked out again, exactly (``sweep_due.next_sweep``). All of it is judged at the log's
time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from core.incident import OPEN_STATES, Incident, IncidentAlert, IncidentState
from core.lifecycle import apply, auto_close_due, tocsin
from core.lifecycle_requests import AutoClose
from core.model import AlertStatus
from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from correlate.context import CorrelationContext
from correlate.firing import OPEN_SCAN_LIMIT
from correlate.stages.group import expiry_reason, last_change, release_due, resolve_if_due
from correlate.sweep_due import next_sweep
from rules.model import Rules

# How often the sweep reads every open incident, not only those due (see SweepScope).
_FULL_SWEEP_SECONDS = 300.0
_NO_ENDS: Mapping[str, datetime] = MappingProxyType({})
# The states the sweep has work in: open ones, and resolved ones (auto-close, expiries).
SWEPT_STATES = OPEN_STATES | {IncidentState.RESOLVED}
RESOLVED_DUE = frozenset({IncidentState.RESOLVED})


class SweepScope:
    """Which incidents a sweep reads: the due ones; all open ones now and then.

    All of them at first, after a reload, and every 5 minutes: the full pass makes up
    for times worked out under other rules (a reload that shortens ``resolve_timeout``)
    and for incidents written by older versions. Resolved incidents are read only when
    due (auto-close): never all of them (see :meth:`resolved_due`).
    """

    def __init__(self) -> None:
        self._swept_rules: Rules | None = None
        self._full_sweep_at = 0.0

    def query(self, rules: Rules, now: datetime) -> IncidentQuery:
        """The query of the incidents to sweep at ``now`` under ``rules``."""
        loop_now = asyncio.get_running_loop().time()
        if rules is self._swept_rules and loop_now < self._full_sweep_at:
            return IncidentQuery(states=SWEPT_STATES, sweep_due_by=now, limit=OPEN_SCAN_LIMIT)
        self._swept_rules = rules
        self._full_sweep_at = loop_now + _FULL_SWEEP_SECONDS
        return IncidentQuery(states=OPEN_STATES, limit=OPEN_SCAN_LIMIT)


    @staticmethod
    def resolved_due(query: IncidentQuery, now: datetime) -> IncidentQuery | None:
        """The query of the resolved incidents due by ``now`` that ``query`` leaves out.

        None if it reads them already (a due sweep's query); a full one reads only the
        open incidents, since reading every resolved one would cost without end.
        """
        if query.sweep_due_by is not None and query.states == SWEPT_STATES:
            return None
        return IncidentQuery(states=RESOLVED_DUE, sweep_due_by=now, limit=OPEN_SCAN_LIMIT)


def expiring(incidents: Iterable[Incident], now: datetime) -> set[str]:
    """The fingerprints of firing alerts whose logged end passed by ``now``.

    The sweep reads their latest ends (AlertEnds) before it expires any of them.
    """
    return {
        fingerprint
        for incident in incidents
        for fingerprint, alert in incident.alerts.items()
        if alert.status is AlertStatus.FIRING and alert.ends_at is not None and alert.ends_at <= now
    }


def sweep_incident(
    ctx: CorrelationContext,
    incident: Incident,
    latest_ends: Mapping[str, datetime] = _NO_ENDS,
) -> tuple[Incident, bool]:
    """Returns the incident after what is due at ``ctx.now``, and whether that decided anything.

    ``ctx.now`` is the log's time (see ``Correlator.sweep``); ``latest_ends`` holds the
    latest end each sender gave (AlertEnds), at least for the alerts of
    :func:`expiring`. The incident comes back as the same object if nothing changed,
    not even its next sweep time; an alert's end moved later is a change, though not
    a decision. Timeline events go to ``ctx.working``; the caller puts the result there.
    """
    now = ctx.now
    if incident.merged_into is None:
        updated, decided = _expire(ctx, incident, latest_ends)
    else:  # its alerts moved to the incident it was merged into: they expire there
        updated, decided = incident, False
    tuning = ctx.tuning_of(incident)
    if updated.is_open and updated.held and release_due(tuning, updated, now):
        updated = replace(updated, held=False)
        ctx.working.event(updated, now, "released", firing=updated.firing_count())
        decided = True
    if updated.is_open and updated.firing_count() == 0:
        resolved = resolve_if_due(ctx, updated, now)
        decided = decided or resolved is not updated
        updated = resolved
    close_at = auto_close_due(updated, ctx.rules.lifecycle)
    if close_at is not None and close_at <= now:
        change = apply(updated, AutoClose(), tocsin(), now, ctx.rules.lifecycle)
        ctx.working.record(change.event)
        updated, close_at, decided = change.incident, None, True
    due = next_sweep(tuning, updated, last_change(updated), close_at)
    if due != updated.sweep_at:
        updated = replace(updated, sweep_at=due)
    return updated, decided


def _expire(
    ctx: CorrelationContext, incident: Incident, latest_ends: Mapping[str, datetime]
) -> tuple[Incident, bool]:
    """Resolves alerts whose latest end passed, or not refreshed for the resolve timeout.

    An alert whose logged end passed but whose sender sent a later one since (a
    duplicate, not logged again) gets that end instead. An expiry is timed at the end
    that passed (or the timeout after the last receipt), the log's time, and the alert
    is marked ``expired``: Tocsin resolved it, not its sender. Returns the incident and
    whether an alert expired.
    """
    now = ctx.now
    tuning = ctx.tuning_of(incident)
    timeout = tuning.resolve_timeout
    changed: dict[str, IncidentAlert] = {}
    expired_any = False
    for fingerprint, alert in incident.alerts.items():
        if alert.status is not AlertStatus.FIRING:
            continue
        end = alert.ends_at
        if end is not None:
            latest = latest_ends.get(fingerprint)
            if latest is not None and latest > end:
                end = latest
                alert = replace(alert, ends_at=end)
                changed[fingerprint] = alert
            if end > now:
                continue
            at = end
        elif timeout.total_seconds() > 0:
            at = (alert.last_received_at or alert.last_seen) + timeout
            if at > now:
                continue
        else:
            continue
        changed[fingerprint] = replace(
            alert,
            status=AlertStatus.RESOLVED,
            transitions=(*alert.transitions, at),
            expired=True,
        )
        expired_any = True
        ctx.working.event(
            incident,
            now,
            "alert_expired",
            fingerprint=fingerprint,
            reason=expiry_reason(alert, tuning),
            expired_at=format_rfc3339(at),
        )
    if not changed:
        return incident, False
    # A new dict: the incident as read stays as it was (WorkingSet compares the two).
    return replace(incident, alerts={**incident.alerts, **changed}), expired_any
