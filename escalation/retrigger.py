"""An acknowledgement that timed out triggers the incident again, through the lifecycle.

The escalation stage decides that an acknowledged incident's ``ack_timeout`` ran out
(``escalation.decide.on_due``); :func:`retrigger` then applies the lifecycle's
``retrigger`` transition (``core.lifecycle``: acknowledged -> triggered, Tocsin only) to
the stored incident with a compare-and-set, like any other change of an incident. Its
``retriggered`` event reaches the stage through the incident event stream, and the stage
pages again from the first level (``on_event``). So the incident is triggered while
people are paged again, and acknowledging it again stops that, as the first time.

Idempotent and safe to repeat: the transition is applied only while the incident is
still acknowledged by the acknowledgement that timed out (``acknowledged_at`` at or
before ``now - timeout``); a stage member killed after the write and before its own
commit finds the incident triggered next time and does nothing more.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from core.errors import InvalidTransition
from core.incident import IncidentState
from core.lifecycle import LifecyclePolicy, apply, tocsin
from core.lifecycle_requests import Retrigger
from core.store import CorrelationCommit, IncidentSummary, VersionConflict, incident_change

# Compare-and-set attempts: a concurrent writer (the correlator, a person) came first.
ATTEMPTS = 5


class RetriggerStore(Protocol):
    """What re-triggering needs of a store."""

    async def incident_summary(self, incident_id: str) -> IncidentSummary | None: ...

    async def commit(self, commit: CorrelationCommit) -> None: ...


async def retrigger(
    store: RetriggerStore,
    incident_id: str,
    ack_timeout: timedelta,
    now: datetime,
    policy: LifecyclePolicy,
) -> bool:
    """Triggers the incident again if its acknowledgement is ``ack_timeout`` old; says if it did."""
    for _ in range(ATTEMPTS):
        summary = await store.incident_summary(incident_id)
        if summary is None:
            return False
        incident = summary.incident
        acknowledged = incident.acknowledged_at
        if incident.state is not IncidentState.ACKNOWLEDGED or acknowledged is None:
            return False
        if acknowledged + ack_timeout > now:
            return False  # acknowledged again since: that acknowledgement's timer decides
        reason = f"not resolved {ack_timeout} after the acknowledgement: paging again"
        try:
            changed = apply(incident, Retrigger(reason), tocsin(), now, policy)
        except InvalidTransition:
            return False
        written = replace(changed.incident, version=incident.version + 1)
        try:
            await store.commit(
                incident_change(written, changed.event, counts=(summary.alerts, summary.firing))
            )
        except VersionConflict:
            continue
        return True
    return False
