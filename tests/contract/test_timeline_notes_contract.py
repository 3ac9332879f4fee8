"""Timeline notes' contract (core.store.events.TimelineNote), on SQLite and on Redis.

A consumer's notes join their incidents' timelines in the same atomic write as its
cursor and documents (``commit_events``) or as a commit (``CorrelationCommit.notes``):
all or nothing, without moving an incident's version and without entering the incident
event stream; a note of an incident that does not exist is dropped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.incident import Incident, IncidentState
from core.store import (
    CorrelationCommit,
    GroupHead,
    Store,
    VersionConflict,
    every_alert,
    incident_change,
)
from core.store.events import ConsumerWrite, EventBatch, StreamConflict, TimelineNote
from tests.contract.builders import T0, make_event, make_incident

LEASE = timedelta(seconds=30)


def _note(incident: Incident | str, kind: str, n: int = 0) -> TimelineNote:
    incident_id = incident if isinstance(incident, str) else incident.id
    detail = {"n": n, "who": "ana", "html": "<b>&</b>", "ünï": "決済"}
    return TimelineNote(incident_id, kind, T0 + timedelta(seconds=n), "escalation", detail)


async def _open(store: Store, *numbers: int) -> tuple[Incident, ...]:
    incidents = tuple(make_incident(n) for n in numbers)
    await store.commit(
        CorrelationCommit(
            "correlator",
            incidents=incidents,
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            events=tuple(make_event(i, 1, "opened") for i in incidents),
            alerts=every_alert(*incidents),
        )
    )
    return incidents


async def _timeline(store: Store, incident: Incident) -> list[tuple[str, str]]:
    return [(e.kind, e.actor) for e in await store.incident_events(incident.id)]


async def test_notes_join_the_timeline_with_the_cursor_and_stay_off_the_stream(
    store: Store,
) -> None:
    one, two = await _open(store, 1, 2)
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    notes = [_note(one, "paged", 1), _note(two, "not_paged", 2), _note(one, "delivery_failed", 3)]

    await store.commit_events(batch, [ConsumerWrite("escalation", one.id, {"x": 1})], notes)

    assert await _timeline(store, one) == [
        ("opened", "correlate"),
        ("paged", "escalation"),
        ("delivery_failed", "escalation"),
    ]
    events = await store.incident_events(two.id)
    assert events[-1] == notes[1].event  # kind, time, actor and detail read back as written
    # No version moved, and no group (this one or another) is handed a note.
    for incident in (one, two):
        held = await store.get_incident(incident.id)
        assert held is not None
        assert held.version == 1
    again = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert again.events == ()
    other = await store.claim_events("status", "s1", 10, now=T0, lease=LEASE)
    assert [e.kind for e in other.events] == ["opened", "opened"]
    # A paged read of the timeline counts the notes as entries.
    page, total = await store.incident_events_page(one.id, 1, 10)
    assert total == 3
    assert [e.kind for e in page] == ["paged", "delivery_failed"]


async def test_a_refused_commit_writes_no_note(store: Store) -> None:
    (one,) = await _open(store, 1)
    stale = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    await store.commit_events(stale)  # the cursor moved past the batch

    with pytest.raises(StreamConflict):
        await store.commit_events(
            stale, [ConsumerWrite("escalation", one.id, {"x": 1})], [_note(one, "paged")]
        )

    assert await _timeline(store, one) == [("opened", "correlate")]
    assert await store.consumer_documents("escalation", [one.id]) == {}


async def test_a_note_of_an_unknown_incident_is_dropped_and_the_rest_written(store: Store) -> None:
    (one,) = await _open(store, 1)
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)

    await store.commit_events(batch, [], [_note("inc-nope", "paged"), _note(one, "paged")])

    assert await _timeline(store, one) == [("opened", "correlate"), ("paged", "escalation")]
    assert await store.incident_events("inc-nope") == []
    assert await store.get_incident("inc-nope") is None
    assert await store.event_cursor("escalation") == batch.last


async def test_a_cursorless_commit_writes_notes_too(store: Store) -> None:
    (one,) = await _open(store, 1)
    await store.commit_events(EventBatch("sla", "m1", None), [], [_note(one, "sla_warning")])

    assert await _timeline(store, one) == [("opened", "correlate"), ("sla_warning", "escalation")]


async def test_a_document_only_commit_writes_notes_without_a_version(store: Store) -> None:
    (one,) = await _open(store, 1)

    await store.commit(
        CorrelationCommit(
            "escalation-delivery",
            documents=(ConsumerWrite("outbox", "k", {"status": "delivered"}),),
            notes=(_note(one, "delivery_succeeded"), _note("inc-nope", "delivery_failed")),
        )
    )

    assert await _timeline(store, one) == [
        ("opened", "correlate"),
        ("delivery_succeeded", "escalation"),
    ]
    assert await store.incident_events("inc-nope") == []
    held = await store.get_incident(one.id)
    assert held is not None
    assert held.version == 1
    # A person's change after the notes still expects the version before them.
    acknowledged = replace(one, version=2, state=IncidentState.ACKNOWLEDGED)
    await store.commit(incident_change(acknowledged, make_event(one, 2, "acknowledged")))
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert [e.kind for e in batch.events] == ["opened", "acknowledged"]
    assert [k for k, _ in await _timeline(store, one)] == [
        "opened",
        "delivery_succeeded",
        "acknowledged",
    ]


async def test_a_commit_notes_an_incident_it_creates_after_its_events(store: Store) -> None:
    (one,) = (make_incident(1),)

    await store.commit(
        CorrelationCommit(
            "correlator",
            incidents=(one,),
            heads=(GroupHead(one.group_key, None, one.id),),
            events=(make_event(one, 1, "opened"),),
            alerts=every_alert(one),
            notes=(_note(one, "page_scheduled"),),
        )
    )

    assert await _timeline(store, one) == [
        ("opened", "correlate"),
        ("page_scheduled", "escalation"),
    ]
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert [e.kind for e in batch.events] == ["opened"]


async def test_a_refused_correlation_commit_writes_no_note(store: Store) -> None:
    (one,) = await _open(store, 1)
    # Version 3 where 2 is next: refused.
    wrong = replace(one, version=3)

    with pytest.raises(VersionConflict):
        await store.commit(
            CorrelationCommit(
                "operator",
                incidents=(wrong,),
                events=(make_event(one, 2, "note"),),
                notes=(_note(one, "paged"),),
            )
        )

    assert await _timeline(store, one) == [("opened", "correlate")]
