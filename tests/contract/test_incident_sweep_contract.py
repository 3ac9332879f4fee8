"""When the sweep must next look at an incident: sweep_at, and the query by it.

``IncidentQuery.sweep_due_by`` selects the incidents whose ``sweep_at`` is set and not
after that instant, most overdue first. Incidents that an earlier Tocsin stored, without
``sweep_at``, are due at once when open, and found so.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from core.codec import encode_alert, encode_incident
from core.incident import OPEN_STATES, Incident, IncidentState
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentQuery,
    Store,
    VersionConflict,
    every_alert,
)
from core.store.redis import RedisStore
from core.store.redis_scripts import INDEX_OLDER_LUA
from core.store.sqlite import SQLiteStore
from core.store.sqlite_migrations import LAYOUT
from core.timestamps import micros
from tests.contract.builders import T0, StoreOpener, make_incident

GROUP = "correlate"

# Later than every sweep_at of these tests.
FAR = T0 + timedelta(days=30)


def minutes(n: float) -> datetime:
    """Returns the instant ``n`` minutes after T0."""
    return T0 + timedelta(minutes=n)


def opening(*incidents: Incident) -> CorrelationCommit:
    """Returns a commit that creates the incidents and makes each the head of its group."""
    return CorrelationCommit(
        GROUP,
        incidents=incidents,
        heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
        alerts=every_alert(*incidents),
    )


async def due(store: Store, instant: datetime, **query: Any) -> list[str]:
    """Returns the ids of the incidents due for the sweep by ``instant``, in listed order."""
    listed = await store.list_incidents(IncidentQuery(sweep_due_by=instant, **query))
    return [incident.id for incident in listed]


def ids(*numbers: int) -> list[str]:
    """Returns the ids of the incidents with these numbers."""
    return [make_incident(n).id for n in numbers]


@pytest.mark.parametrize(
    "sweep_at",
    [
        pytest.param(None, id="none"),
        # Microseconds survive, and an instant before the incident opened is allowed.
        pytest.param(T0 + timedelta(microseconds=1), id="micros"),
        pytest.param(minutes(90), id="later"),
    ],
)
async def test_sweep_at_reads_back(store: Store, sweep_at: datetime | None) -> None:
    incident = make_incident(1, sweep_at=sweep_at)

    await store.commit(opening(incident))

    assert await store.get_incident(incident.id) == incident
    assert await store.incident_for_group(incident.group_key) == incident
    assert await store.list_incidents(IncidentQuery()) == [incident]
    expected_due = [] if sweep_at is None else [incident]
    assert await store.list_incidents(IncidentQuery(sweep_due_by=FAR)) == expected_due


# Incidents the due tests select from, opened n minutes after T0:
# (number, state, service, sweep_at in minutes after T0 or None).
SWEPT: list[tuple[int, IncidentState, str, float | None]] = [
    (1, IncidentState.TRIGGERED, "checkout", 10),
    (2, IncidentState.ACKNOWLEDGED, "checkout", 5),
    (3, IncidentState.ON_HOLD, "payments", 10),
    (4, IncidentState.TRIGGERED, "checkout", None),
    (5, IncidentState.RESOLVED, "checkout", 1),
    (6, IncidentState.TRIGGERED, "payments", 20),
]


def swept(n: int) -> Incident:
    """Returns the incident numbered ``n`` in SWEPT."""
    [(_, state, service, at)] = [row for row in SWEPT if row[0] == n]
    return make_incident(
        n, state=state, service=service, sweep_at=None if at is None else minutes(at)
    )


@pytest.mark.parametrize(
    ("instant", "query", "expected"),
    [
        # The instant itself is due; equal sweep times come by id.
        pytest.param(minutes(10), {}, [5, 2, 1, 3], id="due-by-includes-its-instant"),
        # A microsecond earlier, those due at the instant are not due yet.
        pytest.param(minutes(10) - timedelta(microseconds=1), {}, [5, 2], id="none-early"),
        pytest.param(T0, {}, [], id="nothing-due-yet"),
        # Without sweep_at, never due.
        pytest.param(FAR, {}, [5, 2, 1, 3, 6], id="all-due"),
        pytest.param(FAR, {"states": OPEN_STATES}, [2, 1, 3, 6], id="open-states"),
        pytest.param(FAR, {"states": frozenset()}, [], id="no-states"),
        pytest.param(FAR, {"service": "checkout"}, [5, 2, 1], id="service"),
        # opened_after includes its instant, opened_before excludes it.
        pytest.param(FAR, {"opened_after": minutes(3)}, [5, 3, 6], id="opened-after"),
        pytest.param(FAR, {"opened_before": minutes(3)}, [2, 1], id="opened-before"),
        # The limit keeps the most overdue.
        pytest.param(FAR, {"limit": 2}, [5, 2], id="limit"),
        pytest.param(FAR, {"states": OPEN_STATES, "limit": 3}, [2, 1, 3], id="states-limit"),
        pytest.param(FAR, {"limit": 0}, [], id="zero-limit"),
    ],
)
async def test_sweep_due_by_selects_exactly_the_due_incidents(
    store: Store, instant: datetime, query: dict[str, Any], expected: list[int]
) -> None:
    # Committed out of order, so that the order must come from the store.
    await store.commit(opening(*(swept(n) for n in (3, 1, 6, 4, 2, 5))))

    listed = await store.list_incidents(IncidentQuery(sweep_due_by=instant, **query))

    assert listed == [swept(n) for n in expected]


async def test_sweep_due_by_finds_rare_matches_among_many(store: Store) -> None:
    # All 250 are due, every 50th matches: a backend that filters by pages must read on.
    incidents = [
        make_incident(n, service="rare" if n % 50 == 0 else "common", sweep_at=minutes(1000 - n))
        for n in range(1, 251)
    ]
    await store.commit(
        CorrelationCommit(GROUP, incidents=tuple(incidents), alerts=every_alert(*incidents))
    )

    assert await due(store, FAR, service="rare", limit=10) == ids(250, 200, 150, 100, 50)
    assert await due(store, FAR, service="rare", limit=2) == ids(250, 200)


async def test_commit_moves_an_incident_in_and_out_of_the_due_ones(store: Store) -> None:
    incident = make_incident(1, sweep_at=minutes(10))
    await store.commit(opening(incident))
    assert await due(store, minutes(10)) == ids(1)

    later = replace(incident, version=2, sweep_at=minutes(30))
    await store.commit(CorrelationCommit(GROUP, incidents=(later,)))
    assert await due(store, minutes(29)) == []
    assert await due(store, minutes(30)) == ids(1)

    earlier = replace(later, version=3, sweep_at=minutes(2))
    await store.commit(CorrelationCommit(GROUP, incidents=(earlier,)))
    assert await due(store, minutes(2)) == ids(1)

    cleared = replace(earlier, version=4, sweep_at=None)
    await store.commit(CorrelationCommit(GROUP, incidents=(cleared,)))
    assert await due(store, FAR) == []
    assert await store.get_incident(incident.id) == cleared


async def test_stale_commit_leaves_sweep_at_as_it_was(store: Store) -> None:
    incident = make_incident(1, sweep_at=minutes(10))
    await store.commit(opening(incident))
    # Version 1 again, read before the commit above: refused, with its sweep_at.
    stale = replace(incident, title="stale", sweep_at=None)

    with pytest.raises(VersionConflict):
        await store.commit(CorrelationCommit(GROUP, incidents=(stale,)))

    assert await store.list_incidents(IncidentQuery(sweep_due_by=minutes(10))) == [incident]


async def test_due_incidents_survive_close_and_reopen(open_store: StoreOpener) -> None:
    first = await open_store()
    await first.commit(opening(swept(1), swept(2), swept(4)))
    await first.close()

    second = await open_store()
    try:
        assert await due(second, FAR) == ids(2, 1)
    finally:
        await second.close()


def earlier_document(incident: Incident, *, inline_alerts: bool = False) -> dict[str, Any]:
    """Returns the incident's document as an earlier Tocsin wrote it: without sweep_at.

    With ``inline_alerts``, as one written before alerts were kept apart: alerts inline.
    """
    document: dict[str, Any] = orjson.loads(encode_incident(incident))
    del document["sweep_at"]
    if inline_alerts:
        document["alerts"] = [orjson.loads(encode_alert(a)) for a in incident.alerts.values()]
    return document


# Incidents as an earlier Tocsin stored them: (number, state); open ones read back due at
# their opening, n minutes after T0; others never due.
EARLIER = [
    (1, IncidentState.TRIGGERED),
    (2, IncidentState.ON_HOLD),
    (3, IncidentState.RESOLVED),
    (4, IncidentState.CLOSED),
    (5, IncidentState.ACKNOWLEDGED),
]


def earlier(n: int) -> Incident:
    """Returns the incident numbered ``n`` in EARLIER, as it reads back today."""
    [(_, state)] = [row for row in EARLIER if row[0] == n]
    incident = make_incident(n, state=state)
    return replace(incident, sweep_at=incident.opened_at if incident.is_open else None)


async def assert_earlier_incidents_are_due(store: Store) -> None:
    """Asserts that the open incidents of EARLIER read back due at their opening."""
    assert [await store.get_incident(earlier(n).id) for n, _ in EARLIER] == [
        earlier(n) for n, _ in EARLIER
    ]
    assert await store.list_incidents(IncidentQuery(sweep_due_by=FAR)) == [
        earlier(1),
        earlier(2),
        earlier(5),
    ]
    # Due at their opening, not before.
    assert await due(store, minutes(2) - timedelta(microseconds=1)) == ids(1)
    assert await due(store, minutes(2), states=OPEN_STATES, limit=1) == ids(1)


async def assert_a_commit_takes_over(store: Store) -> None:
    """Asserts that once the sweep set a real value on an earlier incident, it holds."""
    settled = replace(earlier(1), version=2, sweep_at=None)
    await store.commit(CorrelationCommit(GROUP, incidents=(settled,)))
    assert await due(store, FAR) == ids(2, 5)
    assert await store.get_incident(settled.id) == settled


# The tables of a database that an earlier Tocsin made (alerts apart, no sweep_at).
EARLIER_SQLITE_SCHEMA = """
CREATE TABLE incident (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    service TEXT,
    opened_at INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX incident_by_opened ON incident (opened_at, id);
CREATE INDEX incident_by_state ON incident (state, opened_at);
CREATE TABLE incident_alert (
    incident_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (incident_id, fingerprint)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


async def test_sqlite_database_of_an_earlier_tocsin_gets_sweep_at(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.db"
    old = sqlite3.connect(path)
    old.executescript(EARLIER_SQLITE_SCHEMA)
    for n, _ in EARLIER:
        incident = earlier(n)
        old.execute(
            "INSERT INTO incident VALUES (?, 1, ?, ?, ?, ?)",
            (
                incident.id,
                incident.state.value,
                incident.service,
                micros(incident.opened_at),
                orjson.dumps(earlier_document(incident)),
            ),
        )
        old.executemany(
            "INSERT INTO incident_alert VALUES (?, ?, ?)",
            [(incident.id, a.fingerprint, encode_alert(a)) for a in incident.alerts.values()],
        )
    old.commit()
    old.close()

    store = SQLiteStore(path)
    await store.open()
    try:
        await assert_earlier_incidents_are_due(store)
        await assert_a_commit_takes_over(store)
    finally:
        await store.close()
    # Opened again: migrated once, and the commit's value stays.
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        assert await due(reopened, FAR) == ids(2, 5)
    finally:
        await reopened.close()
    # The due query names the partial index (INDEXED BY), so it fails if the index is
    # missing or cannot serve it; the queries above thus show that the migration made it.
    check = sqlite3.connect(path)
    try:
        layout = check.execute("PRAGMA user_version").fetchone()
        tables = {name for (name,) in check.execute("SELECT name FROM sqlite_master")}
    finally:
        check.close()
    assert layout == (LAYOUT,)
    # The alert rows moved into batches, and their old table is gone.
    assert "incident_alert_batch" in tables
    assert "incident_alert" not in tables


async def store_earlier_incidents_in_redis(client: Redis) -> None:
    """Writes EARLIER as an earlier Tocsin did: odd numbers in the oldest layout."""
    for n, _ in EARLIER:
        incident = earlier(n)
        key = f"tocsin:incident:{incident.id}"
        if n % 2:
            body = orjson.dumps(earlier_document(incident, inline_alerts=True))
            await client.hset(key, mapping={"version": 1, "body": body})
        else:
            record = orjson.dumps(earlier_document(incident))
            await client.hset(key, mapping={"version": 1, "record": record})
            await client.hset(
                f"{key}:alerts",
                mapping={a.fingerprint: encode_alert(a) for a in incident.alerts.values()},
            )
        await client.zadd("tocsin:incidents:opened", {incident.id: micros(incident.opened_at)})


@pytest.mark.redis
async def test_redis_incidents_of_an_earlier_tocsin_are_found_due(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await store_earlier_incidents_in_redis(client)
    finally:
        await client.aclose()
    # Written since: the sweep index has them as their commits said, and must keep that.
    beyond = FAR + timedelta(days=1)
    later = make_incident(6, sweep_at=beyond)
    settled = make_incident(7, sweep_at=None)

    store = RedisStore(redis_url)
    await store.open()
    try:
        await store.commit(opening(later, settled))
        await assert_earlier_incidents_are_due(store)
        assert await due(store, beyond) == [*ids(1, 2, 5), later.id]
        await assert_a_commit_takes_over(store)
    finally:
        await store.close()
    # Another store finds the index complete and takes it as it is.
    reopened = RedisStore(redis_url)
    await reopened.open()
    try:
        assert await due(reopened, beyond) == [*ids(2, 5), later.id]
    finally:
        await reopened.close()


@pytest.mark.redis
async def test_redis_index_of_earlier_incidents_yields_to_a_commit(redis_url: str) -> None:
    # The index read the incident at version 1; a commit wrote version 2 (and kept the
    # index) before the index wrote: the commit's word stands.
    client = Redis.from_url(redis_url)
    try:
        incident = earlier(1)
        key = f"tocsin:incident:{incident.id}"
        await client.hset(key, mapping={"version": 2, "record": encode_incident(incident)})
        due_at = micros(incident.opened_at)

        await client.eval(INDEX_OLDER_LUA, 2, "tocsin:incidents:sweep", key, incident.id, 1, due_at)
        stale = await client.zscore("tocsin:incidents:sweep", incident.id)
        await client.eval(INDEX_OLDER_LUA, 2, "tocsin:incidents:sweep", key, incident.id, 2, due_at)
        current = await client.zscore("tocsin:incidents:sweep", incident.id)
    finally:
        await client.aclose()

    assert stale is None
    assert current == due_at


@pytest.mark.redis
async def test_redis_sweep_index_holds_only_incidents_with_sweep_at(redis_url: str) -> None:
    # Listing reads each incident again, so a stale entry would not show there; it would
    # cost every sweep a read, though.
    store = RedisStore(redis_url)
    await store.open()
    client = Redis.from_url(redis_url)
    try:
        one, two = make_incident(1, sweep_at=minutes(10)), make_incident(2)
        await store.commit(opening(one, two))
        created = await client.zrange("tocsin:incidents:sweep", 0, -1, withscores=True)
        moved = replace(one, version=2, sweep_at=minutes(30))
        await store.commit(CorrelationCommit(GROUP, incidents=(moved,)))
        after_move = await client.zrange("tocsin:incidents:sweep", 0, -1, withscores=True)
        cleared = replace(moved, version=3, sweep_at=None)
        await store.commit(CorrelationCommit(GROUP, incidents=(cleared,)))
        after_clear = await client.zrange("tocsin:incidents:sweep", 0, -1, withscores=True)
    finally:
        await client.aclose()
        await store.close()

    assert created == [(one.id.encode(), micros(minutes(10)))]
    assert after_move == [(one.id.encode(), micros(minutes(30)))]
    assert after_clear == []
