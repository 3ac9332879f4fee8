"""A person's write of an incident, as the operator API makes it, and the event stream read.

A person's change goes through the one lifecycle (``core.lifecycle.apply``) and is
written with compare-and-set (``core.store.incident_change``): what the HTTP actions do,
driven here directly so that the tests can interleave it with the correlator.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.incident import Incident
from core.lifecycle import Actor, LifecyclePolicy, apply
from core.lifecycle_requests import Request
from core.roles import Role
from core.store import incident_change
from core.store.events import StreamEvent
from tests.correlate.harness import Harness

ANA = Actor("ana", Role.RESPONDER)
POLICY = LifecyclePolicy()  # the test rules set no lifecycle section: the defaults


async def person(harness: Harness, incident_id: str, request: Request) -> Incident:
    """Reads the incident, applies ``request`` by ana and writes it; returns what was written.

    Raises VersionConflict if another writer changed it since it was read (never here:
    the read and the write follow each other on one loop).
    """
    incident = await harness.store.get_incident(incident_id)
    assert incident is not None
    return await person_on(harness, incident, request)


async def person_on(harness: Harness, incident: Incident, request: Request) -> Incident:
    """Applies ``request`` by ana to the incident as read (perhaps stale) and writes it."""
    change = apply(incident, request, ANA, harness.clock.now(), POLICY)
    written = replace(change.incident, version=incident.version + 1)
    await harness.store.commit(incident_change(written, change.event))
    return written


async def stream(harness: Harness, group: str = "test") -> list[StreamEvent]:
    """Every event of the incident event stream a new consumer group sees, oldest first."""
    batch = await harness.store.claim_events(
        group, "m1", 10_000, now=harness.clock.now(), lease=timedelta(minutes=1)
    )
    return list(batch.events)


def kinds(events: list[StreamEvent], incident: Incident) -> list[str]:
    """The kinds of the incident's stream events, in order."""
    return [e.kind for e in events if e.incident_id == incident.id]
