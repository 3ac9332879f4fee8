"""A public incident's timeline stays newest first when events come late (issue 12).

Before: an automatic update (from the internal incident's resolution) of an event older
than an operator's update applied before it was dated at the event, yet listed above the
operator's newer update: incident_updates out of Statuspage's newest-first order.

The writer on the incident event stream, on SQLite and Redis, on a manual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.clock import ManualClock
from core.incident import IncidentState
from core.store import Store
from rules.model import Rules
from statuspage.commands import update_command
from statuspage.model import Impact, PublicIncidentStatus
from statuspage.writer import file_command, new_id
from tests.statuspage.harness import change, drain, opened, public_incidents, writer

T = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def test_a_late_automatic_update_is_not_dated_before_the_newest(
    store: Store, rules: Rules
) -> None:
    internal = await opened(store, 1, T)
    clock = ManualClock(T + MIN)
    status = writer(store, rules, clock)
    await drain(status)
    (record,) = await public_incidents(store)
    public_id = record.incident.id
    body = {"status": "identified", "body": "A fix is being rolled out."}
    at = T + 3 * MIN
    await file_command(store, update_command(body, set(), public_id, new_id(), at, Impact.MAJOR))
    clock.advance(3 * MIN)
    await drain(status)
    # The internal incident was resolved at T + 2 min; its event comes after.
    await change(store, internal, "resolved", T + 2 * MIN, IncidentState.RESOLVED)
    await drain(status)
    (record,) = await public_incidents(store)
    updates = record.incident.updates
    assert [u.status for u in updates] == [
        PublicIncidentStatus.RESOLVED,
        PublicIncidentStatus.IDENTIFIED,
        PublicIncidentStatus.INVESTIGATING,
    ]
    times = [u.created_at for u in updates]
    assert times == sorted(times, reverse=True)
    assert updates[0].display_at == updates[0].created_at == at
    assert record.incident.status is PublicIncidentStatus.RESOLVED
