"""The incident event stream's contract (core.store.events), on SQLite and on Redis.

Every incident write appends its events, with the incident as written, in the order
of the writes; consumer groups read it with a cursor and a lease, and commit their
effects with the cursor, all or nothing, exactly once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.incident import Incident, IncidentEvent, IncidentState
from core.store import (
    CorrelationCommit,
    GroupHead,
    Store,
    VersionConflict,
    every_alert,
    incident_change,
)
from core.store.events import ConsumerWrite, StreamConflict, StreamEvent
from tests.contract.builders import T0, StoreOpener, make_event, make_incident

LEASE = timedelta(seconds=30)
# Past every event's time (SQLite dates events by their ``at``, T0 here) and write time
# (Redis dates them by their stream ID, its own clock): a cutoff that trims all consumed.
LATER = datetime.now(UTC) + timedelta(days=1)


def _opening(*incidents: Incident, events: tuple[IncidentEvent, ...]) -> CorrelationCommit:
    return CorrelationCommit(
        "correlator",
        incidents=incidents,
        heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
        events=events,
        alerts=every_alert(*incidents),
    )


def _kinds(events: tuple[StreamEvent, ...]) -> list[tuple[str, str]]:
    return [(e.incident_id, e.kind) for e in events]


async def _write_three(store: Store) -> tuple[Incident, Incident]:
    """Two incidents: opened together (3 events), then the first acknowledged (1 event)."""
    one, two = make_incident(1), make_incident(2, priority=None)
    await store.commit(
        _opening(
            one,
            two,
            # Interleaved on purpose: the stream keeps the commit's order across incidents.
            events=(
                make_event(one, 1, "opened"),
                make_event(two, 1, "opened"),
                make_event(one, 2, "alerts_joined"),
            ),
        )
    )
    acknowledged = replace(
        one,
        version=2,
        state=IncidentState.ACKNOWLEDGED,
        priority="P1",
        assignee="ana",
        muted=True,
        policy="ops",
    )
    await store.commit(incident_change(acknowledged, make_event(one, 3, "acknowledged")))
    return acknowledged, two


async def test_events_come_in_write_order_with_the_incident_as_written(store: Store) -> None:
    one, two = await _write_three(store)

    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)

    assert batch.after is None
    assert _kinds(batch.events) == [
        (one.id, "opened"),
        (two.id, "opened"),
        (one.id, "alerts_joined"),
        (one.id, "acknowledged"),
    ]
    # The snapshot is the incident after the whole write that recorded the event.
    assert [(e.version, e.state, e.priority) for e in batch.events] == [
        (1, IncidentState.TRIGGERED, "P2"),
        (1, IncidentState.TRIGGERED, None),
        (1, IncidentState.TRIGGERED, "P2"),
        (2, IncidentState.ACKNOWLEDGED, "P1"),
    ]
    assert batch.events[0].event == make_event(one, 1, "opened")
    last = batch.events[-1]
    assert (last.muted, last.held, last.policy, last.team, last.assignee, last.service) == (
        True,
        False,
        "ops",
        "web",
        "ana",
        "checkout",
    )
    assert batch.events[0].assignee is None
    assert len({e.position for e in batch.events}) == 4
    # The timeline still holds the same events.
    assert [e.kind for e in await store.incident_events(one.id)] == [
        "opened",
        "alerts_joined",
        "acknowledged",
    ]


async def test_the_cursor_moves_only_by_a_commit(store: Store) -> None:
    await _write_three(store)
    first = await store.claim_events("escalation", "m1", 3, now=T0, lease=LEASE)
    # Claimed again before its commit: the same events (the member restarted, say).
    assert await store.claim_events("escalation", "m1", 3, now=T0, lease=LEASE) == first

    await store.commit_events(first)

    assert await store.event_cursor("escalation") == first.last
    rest = await store.claim_events("escalation", "m1", 3, now=T0, lease=LEASE)
    assert rest.after == first.last
    assert [e.kind for e in rest.events] == ["acknowledged"]
    await store.commit_events(rest)
    empty = await store.claim_events("escalation", "m1", 3, now=T0, lease=LEASE)
    assert empty.events == ()
    assert empty.holder == "m1"
    # Another group has a cursor of its own, at the start.
    other = await store.claim_events("status-page", "m1", 10, now=T0, lease=LEASE)
    assert len(other.events) == 4


async def test_one_member_of_a_group_holds_the_lease_until_it_expires(store: Store) -> None:
    await _write_three(store)
    held = await store.claim_events("escalation", "a", 10, now=T0, lease=LEASE)

    # While a's lease lasts, b gets nothing and learns who works.
    waiting = await store.claim_events("escalation", "b", 10, now=T0 + LEASE / 2, lease=LEASE)
    assert waiting.events == ()
    assert waiting.holder == "a"

    # a stopped renewing: once its lease expired, b takes the same events over.
    taken = await store.claim_events("escalation", "b", 10, now=T0 + LEASE, lease=LEASE)
    assert taken.holder == "b"
    assert taken.events == held.events

    # a comes back and commits first: b's commit of the same batch must not apply twice.
    await store.commit_events(held, [ConsumerWrite("esc", "x", {"by": "a"})])
    with pytest.raises(StreamConflict):
        await store.commit_events(taken, [ConsumerWrite("esc", "x", {"by": "b"})])
    assert await store.consumer_documents("esc", ["x"]) == {"x": {"by": "a"}}
    assert await store.event_cursor("escalation") == held.last


async def test_a_released_lease_goes_to_the_next_member_at_once(store: Store) -> None:
    await _write_three(store)
    await store.claim_events("escalation", "a", 10, now=T0, lease=LEASE)
    await store.release_events("escalation", "b")  # not b's to release
    assert (await store.claim_events("escalation", "b", 10, now=T0, lease=LEASE)).events == ()

    await store.release_events("escalation", "a")

    assert len((await store.claim_events("escalation", "b", 10, now=T0, lease=LEASE)).events) == 4


async def test_effects_and_cursor_are_written_together_or_not_at_all(store: Store) -> None:
    await _write_three(store)
    batch = await store.claim_events("escalation", "m1", 2, now=T0, lease=LEASE)
    writes = [
        ConsumerWrite("escalation", e.incident_id, {"level": 1, "seen": e.position})
        for e in batch.events
    ] + [ConsumerWrite("escalation", "gone")]

    await store.commit_events(batch, writes)

    one, two = batch.events[0].incident_id, batch.events[1].incident_id
    assert await store.consumer_documents("escalation", [one, two, "gone", "never"]) == {
        one: {"level": 1, "seen": batch.events[0].position},
        two: {"level": 1, "seen": batch.events[1].position},
    }
    # The same batch again (a stale member): neither the effects nor the cursor change.
    with pytest.raises(StreamConflict):
        await store.commit_events(batch, [ConsumerWrite("escalation", one, {"level": 9})])
    assert (await store.consumer_documents("escalation", [one]))[one]["level"] == 1
    assert await store.event_cursor("escalation") == batch.last
    # A delete is a write like the others.
    rest = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    await store.commit_events(rest, [ConsumerWrite("escalation", one)])
    assert await store.consumer_documents("escalation", [one, two]) == {
        two: {"level": 1, "seen": batch.events[1].position}
    }


async def test_a_refused_change_leaves_no_event_in_the_stream(store: Store) -> None:
    one, _ = await _write_three(store)
    stale = replace(one, version=2, state=IncidentState.RESOLVED)  # read at version 1

    with pytest.raises(VersionConflict):
        await store.commit(incident_change(stale, make_event(one, 4, "resolved")))

    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert "resolved" not in [e.kind for e in batch.events]
    assert await store.get_incident(one.id) == one


async def test_a_commit_refuses_an_event_of_an_incident_it_does_not_write() -> None:
    one, two = make_incident(1), make_incident(2)
    with pytest.raises(ValueError, match=two.id):
        CorrelationCommit("c", incidents=(one,), events=(make_event(two, 1),))


async def test_trim_keeps_what_a_live_group_has_not_consumed(store: Store) -> None:
    await _write_three(store)
    # Claimed at LATER: the groups' leases last past the cutoffs below (they are live).
    ahead = await store.claim_events("ahead", "m1", 10, now=LATER, lease=LEASE)
    await store.commit_events(ahead)
    behind = await store.claim_events("behind", "m1", 1, now=LATER, lease=LEASE)
    await store.commit_events(behind)
    # A group that claimed and never committed holds every event.
    await store.claim_events("idle", "m1", 10, now=LATER, lease=LEASE)
    assert await store.trim_events(LATER) == 0
    idle = await store.claim_events("idle", "m1", 10, now=LATER, lease=LEASE)
    await store.commit_events(idle)

    # Within the retention: nothing goes, consumed or not.
    assert await store.trim_events(T0 - timedelta(days=1)) == 0
    assert await store.trim_events(LATER) == 1

    left = await store.claim_events("behind", "m1", 10, now=LATER, lease=LEASE)
    assert left.events == ahead.events[1:]
    fresh = await store.claim_events("new", "m1", 10, now=LATER, lease=LEASE)
    assert fresh.events == left.events


async def test_a_group_nobody_worked_on_for_the_retention_holds_nothing_back(
    store: Store,
) -> None:
    await _write_three(store)
    # Claimed long before the cutoff, never committed, and its member is gone.
    await store.claim_events("abandoned", "m1", 10, now=T0, lease=LEASE)
    # Released just now: the group was worked on within the retention.
    await store.claim_events("resting", "m1", 10, now=LATER, lease=LEASE)
    await store.release_events("resting", "m1")
    assert await store.trim_events(LATER) == 0

    resting = await store.claim_events("resting", "m2", 10, now=LATER, lease=LEASE)
    await store.commit_events(resting)

    assert await store.trim_events(LATER) == 4


async def test_positions_keep_growing_after_everything_was_trimmed(store: Store) -> None:
    one, _ = await _write_three(store)
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    await store.commit_events(batch)
    assert await store.trim_events(LATER) == 4

    resolved = replace(one, version=3, state=IncidentState.RESOLVED)
    await store.commit(incident_change(resolved, make_event(one, 5, "resolved")))

    # Were a position used again, the group's cursor would hide this event.
    after = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert [(e.kind, e.state) for e in after.events] == [("resolved", IncidentState.RESOLVED)]
    assert len(await store.incident_events(one.id)) == 4  # the timeline is never trimmed


async def test_the_stream_and_the_cursors_survive_a_restart(open_store: StoreOpener) -> None:
    first = await open_store()
    try:
        await _write_three(first)
        batch = await first.claim_events("escalation", "m1", 2, now=T0, lease=LEASE)
        await first.commit_events(batch, [ConsumerWrite("esc", "k", {"n": 1})])
    finally:
        await first.close()

    second = await open_store()
    try:
        rest = await second.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
        documents = await second.consumer_documents("esc", ["k"])
    finally:
        await second.close()
    assert rest.after == batch.last
    assert [e.kind for e in rest.events] == ["alerts_joined", "acknowledged"]
    assert documents == {"k": {"n": 1}}


async def test_claiming_again_renews_the_lease(store: Store) -> None:
    await _write_three(store)
    await store.claim_events("escalation", "a", 10, now=T0, lease=LEASE)
    renewed_at = T0 + LEASE * 2 / 3
    await store.claim_events("escalation", "a", 10, now=renewed_at, lease=LEASE)

    # Past the first lease, within the renewed one: still a's.
    waiting = await store.claim_events("escalation", "b", 10, now=T0 + LEASE * 1.1, lease=LEASE)
    assert waiting.holder == "a"
    taken = await store.claim_events("escalation", "b", 10, now=renewed_at + LEASE, lease=LEASE)
    assert taken.holder == "b"


async def test_documents_filed_by_due_time_come_back_most_overdue_first(store: Store) -> None:
    await _write_three(store)
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    minute = timedelta(minutes=1)
    await store.commit_events(
        batch,
        [
            ConsumerWrite("escalation", "late", {"level": 2}, due=T0 + 3 * minute),
            ConsumerWrite("escalation", "b-soon", {"level": 1}, due=T0 + minute),
            ConsumerWrite("escalation", "a-soon", {"level": 1}, due=T0 + minute),
            ConsumerWrite("escalation", "undated", {"level": 0}),
            ConsumerWrite("other", "elsewhere", {"level": 1}, due=T0),
        ],
    )

    assert await store.due_documents("escalation", T0 + 2 * minute, 10) == [
        ("a-soon", {"level": 1}),
        ("b-soon", {"level": 1}),
    ]
    assert await store.due_documents("escalation", T0 + 3 * minute, 1) == [("a-soon", {"level": 1})]

    # Rewritten without a due time, or deleted: no longer due; moved later: due later.
    idle = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    await store.commit_events(
        idle,
        [
            ConsumerWrite("escalation", "a-soon", {"level": 1, "done": True}),
            ConsumerWrite("escalation", "b-soon"),
            ConsumerWrite("escalation", "late", {"level": 3}, due=T0 + 10 * minute),
        ],
    )
    assert await store.due_documents("escalation", T0 + 5 * minute, 10) == []
    assert await store.due_documents("escalation", T0 + 10 * minute, 10) == [("late", {"level": 3})]
