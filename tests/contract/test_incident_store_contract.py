"""The IncidentStore contract: versioned incidents, group heads and timelines, all or nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StoreUnavailable
from core.incident import OPEN_STATES, Incident, IncidentState
from core.lifecycle import Actor, LifecyclePolicy, apply
from core.lifecycle_requests import Acknowledge
from core.roles import Role
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentQuery,
    Store,
    VersionConflict,
    every_alert,
)
from core.store.sqlite import SQLiteStore
from tests.contract.builders import T0, StoreOpener, make_alert, make_event, make_incident

GROUP = "correlate"


def opening(*incidents: Incident) -> CorrelationCommit:
    """Returns a commit that creates the incidents and makes each the head of its group."""
    return CorrelationCommit(
        GROUP,
        incidents=incidents,
        heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
        alerts=every_alert(*incidents),
    )


async def test_commit_creates_an_incident_readable_by_id_group_and_list(store: Store) -> None:
    incident = make_incident(1)

    await store.commit(opening(incident))

    assert await store.get_incident(incident.id) == incident
    assert await store.incident_for_group(incident.group_key) == incident
    assert await store.list_incidents(IncidentQuery()) == [incident]


async def test_incidents_read_together_are_each_whole_and_the_unknown_left_out(
    store: Store,
) -> None:
    one, two = make_incident(1), make_incident(2)
    await store.commit(opening(one, two))

    found = await store.get_incidents([two.id, "inc-9999", one.id, two.id])

    assert found == {one.id: one, two.id: two}
    assert await store.get_incidents([]) == {}
    assert await store.get_incidents(["inc-9999"]) == {}


async def test_unknown_incident_group_and_timeline_read_as_empty(store: Store) -> None:
    assert await store.get_incident("inc-9999") is None
    assert await store.incident_for_group("no-such-group") is None
    assert await store.incident_events("inc-9999") == []
    assert await store.list_incidents(IncidentQuery()) == []


async def test_commit_of_the_next_version_replaces_the_incident(store: Store) -> None:
    opened = make_incident(1)
    await store.commit(opening(opened))
    acknowledged = replace(
        apply(
            opened,
            Acknowledge(),
            Actor("alice", Role.RESPONDER),
            T0 + timedelta(minutes=5),
            LifecyclePolicy(),
        ).incident,
        version=2,
        assignee="alice",
    )

    await store.commit(CorrelationCommit(GROUP, incidents=(acknowledged,)))

    assert await store.get_incident(opened.id) == acknowledged
    assert await store.incident_for_group(opened.group_key) == acknowledged
    assert await store.list_incidents(IncidentQuery()) == [acknowledged]
    triggered = IncidentQuery(states=frozenset({IncidentState.TRIGGERED}))
    assert await store.list_incidents(triggered) == []


@pytest.mark.parametrize(
    ("stored", "attempted"),
    [
        # A new incident must come as version 1.
        pytest.param(0, 2, id="new-at-version-2"),
        # Version 1 again: another writer created the incident first.
        pytest.param(1, 1, id="created-twice"),
        # Version 2 read at 1 while another writer already wrote 2.
        pytest.param(2, 2, id="lost-update"),
        # A version may not be skipped.
        pytest.param(1, 3, id="skipped-version"),
    ],
)
async def test_stale_version_raises_and_writes_nothing_of_the_commit(
    store: Store, stored: int, attempted: int
) -> None:
    await store.append([make_alert(1), make_alert(2)])
    entries = await store.claim(GROUP, "m1", 10)
    history = [make_incident(1, version=v, title=f"version {v}") for v in range(1, stored + 1)]
    for version in history:
        await store.commit(
            CorrelationCommit(GROUP, incidents=(version,), alerts=every_alert(version))
        )
    fresh = make_incident(2)
    stale = make_incident(1, version=attempted, title="stale")

    with pytest.raises(VersionConflict) as raised:
        await store.commit(
            CorrelationCommit(
                GROUP,
                # The valid incident comes first: its checks pass before the stale one fails.
                incidents=(fresh, stale),
                heads=(GroupHead(fresh.group_key, None, fresh.id),),
                events=(make_event(fresh, 1), make_event(stale, 2)),
                consumed=tuple(entry.cursor for entry in entries),
                alerts=every_alert(fresh, stale),
            )
        )

    assert not isinstance(raised.value, StoreUnavailable)
    assert await store.get_incident(fresh.id) is None
    assert await store.get_incident(stale.id) == (history[-1] if history else None)
    assert await store.incident_for_group(fresh.group_key) is None
    assert await store.incident_events(fresh.id) == []
    assert await store.incident_events(stale.id) == []
    assert await store.list_incidents(IncidentQuery()) == history[-1:]
    assert await store.claim(GROUP, "m1", 10) == entries


async def test_group_head_moves_only_from_where_the_commit_expects(store: Store) -> None:
    first = make_incident(1, group_key="g")
    second = make_incident(2, group_key="g")
    await store.commit(opening(first))

    # Both writers saw the group without a head; the second to commit loses.
    with pytest.raises(VersionConflict):
        await store.commit(opening(second))
    # A head that points elsewhere than the writer read.
    with pytest.raises(VersionConflict):
        await store.commit(
            CorrelationCommit(
                GROUP,
                incidents=(second,),
                heads=(GroupHead("g", "inc-9999", "x"),),
                alerts=every_alert(second),
            )
        )
    after_conflicts = await store.incident_for_group("g")
    created_by_conflicts = await store.get_incident(second.id)
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(second,),
            heads=(GroupHead("g", first.id, second.id),),
            alerts=every_alert(second),
        )
    )

    assert after_conflicts == first
    assert created_by_conflicts is None
    assert await store.incident_for_group("g") == second
    assert await store.get_incident(first.id) == first


async def test_concurrent_commits_of_a_new_group_head_let_exactly_one_win(store: Store) -> None:
    contenders = [make_incident(n, group_key="g") for n in range(1, 6)]

    outcomes = await asyncio.gather(
        *(store.commit(opening(incident)) for incident in contenders), return_exceptions=True
    )

    winners = [i for i, outcome in zip(contenders, outcomes, strict=True) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(o, VersionConflict) for o in outcomes if o is not None)
    assert await store.incident_for_group("g") == winners[0]
    assert await store.list_incidents(IncidentQuery()) == winners


async def test_timeline_keeps_the_order_events_were_committed_in(store: Store) -> None:
    one, two = make_incident(1), make_incident(2)
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(one, two),
            # Out of time order on purpose: the timeline keeps commit order.
            events=(make_event(one, 3), make_event(two, 1), make_event(one, 1, kind="opened")),
            alerts=every_alert(one, two),
        )
    )
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(replace(one, version=2),),
            events=(make_event(one, 2, kind="acknowledged"),),
        )
    )

    assert await store.incident_events(one.id) == [
        make_event(one, 3),
        make_event(one, 1, kind="opened"),
        make_event(one, 2, kind="acknowledged"),
    ]
    assert await store.incident_events(two.id) == [make_event(two, 1)]


async def test_commit_advances_the_group_with_its_incidents(store: Store) -> None:
    await store.append([make_alert(n) for n in range(3)])
    entries = await store.claim(GROUP, "m1", 10)
    incident = make_incident(1)

    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=(make_event(incident, 1),),
            consumed=tuple(entry.cursor for entry in entries[:2]),
            alerts=every_alert(incident),
        )
    )

    assert await store.claim(GROUP, "m1", 10) == entries[2:]
    assert await store.incident_events(incident.id) == [make_event(incident, 1)]


async def test_incidents_survive_close_and_reopen(open_store: StoreOpener) -> None:
    incident = make_incident(1)
    first = await open_store()
    await first.commit(
        CorrelationCommit(
            GROUP,
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=(make_event(incident, 1),),
            alerts=every_alert(incident),
        )
    )
    await first.close()

    second = await open_store()
    try:
        by_group = await second.incident_for_group(incident.group_key)
        events = await second.incident_events(incident.id)
    finally:
        await second.close()

    assert by_group == incident
    assert events == [make_event(incident, 1)]


async def test_incident_store_of_closed_store_raises_store_unavailable(
    open_store: StoreOpener,
) -> None:
    closed = await open_store()
    await closed.close()

    with pytest.raises(StoreUnavailable):
        await closed.commit(opening(make_incident(1)))
    with pytest.raises(StoreUnavailable):
        await closed.get_incident("inc-0001")
    with pytest.raises(StoreUnavailable):
        await closed.list_incidents(IncidentQuery())
    with pytest.raises(StoreUnavailable):
        await closed.claim(GROUP, "m1", 10)


# Incidents the listing tests select from: (number, state, service, hours after T0).
LISTED = [
    (1, IncidentState.TRIGGERED, "checkout", 1),
    (2, IncidentState.ACKNOWLEDGED, "checkout", 2),
    (3, IncidentState.RESOLVED, "payments", 3),
    (4, IncidentState.TRIGGERED, "payments", 3),
    (5, IncidentState.CLOSED, None, 5),
    (6, IncidentState.ON_HOLD, "checkout", 6),
]


def listed(n: int) -> Incident:
    """Returns the incident numbered ``n`` in LISTED."""
    [(_, state, service, hours)] = [row for row in LISTED if row[0] == n]
    return make_incident(n, state=state, service=service, opened_at=T0 + timedelta(hours=hours))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Everything, newest first; equal opening times by id, descending.
        pytest.param(IncidentQuery(), [6, 5, 4, 3, 2, 1], id="all"),
        pytest.param(
            IncidentQuery(states=frozenset({IncidentState.TRIGGERED})), [4, 1], id="state"
        ),
        pytest.param(IncidentQuery(states=OPEN_STATES), [6, 4, 2, 1], id="open-states"),
        # An empty set of states selects nothing, unlike None.
        pytest.param(IncidentQuery(states=frozenset()), [], id="no-states"),
        pytest.param(IncidentQuery(service="checkout"), [6, 2, 1], id="service"),
        pytest.param(
            IncidentQuery(states=frozenset({IncidentState.RESOLVED}), service="payments"),
            [3],
            id="state-and-service",
        ),
        # opened_after includes its instant.
        pytest.param(IncidentQuery(opened_after=T0 + timedelta(hours=3)), [6, 5, 4, 3], id="after"),
        # opened_before excludes its instant.
        pytest.param(IncidentQuery(opened_before=T0 + timedelta(hours=3)), [2, 1], id="before"),
        pytest.param(
            IncidentQuery(
                opened_after=T0 + timedelta(hours=2), opened_before=T0 + timedelta(hours=5)
            ),
            [4, 3, 2],
            id="between",
        ),
        pytest.param(IncidentQuery(limit=2), [6, 5], id="limit"),
        # The limit counts selected incidents, not the ones looked at.
        pytest.param(IncidentQuery(states=OPEN_STATES, limit=2), [6, 4], id="state-limit"),
        pytest.param(IncidentQuery(limit=0), [], id="zero-limit"),
    ],
)
async def test_list_incidents_selects_and_orders(
    store: Store, query: IncidentQuery, expected: list[int]
) -> None:
    # Committed out of order, so that the order must come from the store.
    await store.commit(opening(*(listed(n) for n in (3, 1, 6, 2, 5, 4))))

    assert await store.list_incidents(query) == [listed(n) for n in expected]


async def test_list_incidents_finds_rare_matches_among_many(store: Store) -> None:
    # Every 50th of 250 incidents matches: a backend that filters by pages must read on.
    incidents = [
        make_incident(n, service="rare" if n % 50 == 0 else "common") for n in range(1, 251)
    ]
    await store.commit(
        CorrelationCommit(GROUP, incidents=tuple(incidents), alerts=every_alert(*incidents))
    )

    found = await store.list_incidents(IncidentQuery(service="rare", limit=10))

    assert [i.id for i in found] == [make_incident(n).id for n in (250, 200, 150, 100, 50)]


# The writer thread runs every write waiting in its queue in one transaction; this checks
# that one stale commit in such a batch fails alone. SQLite only: Redis has no batches.
async def test_stale_commit_in_a_shared_transaction_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        taken = make_incident(99)
        await store.commit(opening(taken))
        commits = [opening(make_incident(n)) for n in range(1, 4)]
        commits.insert(1, CorrelationCommit(GROUP, incidents=(taken,)))  # version 1 again
        # Another connection holds the write lock, so the commits queue up behind it and
        # the writer takes them as one batch once the lock is released.
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        tasks = [asyncio.create_task(store.commit(commit)) for commit in commits]
        await asyncio.sleep(0)  # each task enqueues its write before its first await
        blocker.execute("ROLLBACK")
        blocker.close()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        stored = [await store.get_incident(make_incident(n).id) for n in range(1, 4)]
    finally:
        await store.close()

    assert outcomes[0] is None
    assert isinstance(outcomes[1], VersionConflict)
    assert outcomes[2:] == [None, None]
    assert stored == [make_incident(n) for n in range(1, 4)]
