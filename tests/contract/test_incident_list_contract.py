"""The incident list's filters and pages, on both stores (issue 10, "Listing").

Every filter alone and combined selects the same incidents through ``incident_page``,
``incident_summaries`` and ``list_incidents``, newest first; a change of a filtered field
moves the incident between lists in the same commit; pages walked by their ``next``
positions neither repeat nor skip an incident while others are added. The stores' own
upgrades: an SQLite database of layout 4 gets the list columns from the bodies, and the
incidents an earlier Tocsin stored in Redis are indexed by the first list.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from core.incident import Incident, IncidentState
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentQuery,
    ListPosition,
    Store,
    every_alert,
)
from core.store import redis_incident_index as index
from core.store import sqlite_incident_list as sqlite_list
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from core.store.sqlite_incident_list import list_incidents_sql
from core.store.sqlite_migrations import LAYOUT
from tests.contract.builders import T0, make_incident

GROUP = "correlate"
S = IncidentState

# Six incidents whose filtered fields differ: (n, state, priority, service, team,
# category, assignee, title). Incident n opens n minutes after T0.
ROWS: list[tuple[Any, ...]] = [
    (1, S.TRIGGERED, "P1", "checkout", "web", "performance", None, "High latency on web-1"),
    (2, S.ACKNOWLEDGED, "P2", "checkout", "web", "availability", "alice", "Checkout DOWN"),
    (3, S.RESOLVED, "P3", "payments", "pay", "performance", "bob", "Disk full on db-3"),
    (4, S.ON_HOLD, "P1", "payments", "web", "availability", "alice", "Zahlung STRASSE kaputt"),
    (5, S.CLOSED, "P2", "search, eu", "search", None, None, "Search latency"),
    (6, S.TRIGGERED, None, None, None, None, None, "Heartbeat missing"),
]


def incident(row: tuple[Any, ...]) -> Incident:
    n, state, priority, service, team, category, assignee, title = row
    return make_incident(
        n,
        state=state,
        priority=priority,
        service=service,
        team=team,
        category=category,
        assignee=assignee,
        title=title,
    )


INCIDENTS = [incident(row) for row in ROWS]


def ids(*numbers: int) -> list[str]:
    return [f"inc-{n:04d}" for n in numbers]


async def create(store: Store, *incidents: Incident) -> None:
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=incidents,
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            alerts=every_alert(*incidents),
        )
    )


async def listed(store: Store, query: IncidentQuery) -> list[str]:
    """The ids the query lists, insisting that the three ways of listing agree."""
    page = await store.incident_page(query)
    summaries = await store.incident_summaries(query)
    full = await store.list_incidents(query)
    found = [s.incident.id for s in page.summaries]
    assert [s.incident.id for s in summaries] == found
    assert [i.id for i in full] == found
    return found


def states(*names: IncidentState) -> frozenset[IncidentState]:
    return frozenset(names)


FILTERS = [
    # No filter: every incident, newest first.
    pytest.param(IncidentQuery(), ids(6, 5, 4, 3, 2, 1), id="all"),
    # One state; several states are any of them.
    pytest.param(IncidentQuery(states=states(S.TRIGGERED)), ids(6, 1), id="state"),
    pytest.param(
        IncidentQuery(states=states(S.ACKNOWLEDGED, S.ON_HOLD, S.CLOSED)),
        ids(5, 4, 2),
        id="states",
    ),
    # One priority, two priorities; an incident without one is in neither.
    pytest.param(IncidentQuery(priorities=frozenset({"P1"})), ids(4, 1), id="priority"),
    pytest.param(IncidentQuery(priorities=frozenset({"P2", "P3"})), ids(5, 3, 2), id="priorities"),
    # A service; a name with a comma and a space is one name.
    pytest.param(IncidentQuery(service="payments"), ids(4, 3), id="service"),
    pytest.param(IncidentQuery(service="search, eu"), ids(5), id="service-comma"),
    pytest.param(IncidentQuery(team="web"), ids(4, 2, 1), id="team"),
    pytest.param(IncidentQuery(category="performance"), ids(3, 1), id="category"),
    pytest.param(IncidentQuery(assignee="alice"), ids(4, 2), id="assignee"),
    # A name nobody has selects nothing.
    pytest.param(IncidentQuery(assignee="carol"), [], id="assignee-unknown"),
    # The opening time: since includes its instant, until excludes its.
    pytest.param(
        IncidentQuery(opened_after=T0 + timedelta(minutes=5)), ids(6, 5), id="since"
    ),
    pytest.param(
        IncidentQuery(opened_before=T0 + timedelta(minutes=2)), ids(1), id="until"
    ),
    # Title text in any case.
    pytest.param(IncidentQuery(title_contains="LATENCY"), ids(5, 1), id="title-case"),
    # Casefolded: "straße" finds "STRASSE".
    pytest.param(IncidentQuery(title_contains="straße"), ids(4), id="title-casefold"),
    pytest.param(IncidentQuery(title_contains="no such"), [], id="title-none"),
    # Filters combine: all must hold.
    pytest.param(
        IncidentQuery(team="web", priorities=frozenset({"P1"})), ids(4, 1), id="team-priority"
    ),
    pytest.param(
        IncidentQuery(service="checkout", assignee="alice", category="availability"),
        ids(2),
        id="service-assignee-category",
    ),
    pytest.param(
        IncidentQuery(states=states(S.TRIGGERED, S.ON_HOLD), title_contains="a"),
        ids(6, 4, 1),
        id="states-title",
    ),
    pytest.param(
        IncidentQuery(
            team="web",
            opened_after=T0 + timedelta(minutes=2),
            opened_before=T0 + timedelta(minutes=4),
        ),
        ids(2),
        id="team-range",
    ),
    pytest.param(
        IncidentQuery(team="web", states=states(S.RESOLVED)), [], id="team-state-disjoint"
    ),
    # After a position: the incidents opened before it.
    pytest.param(
        IncidentQuery(team="web", after=ListPosition(T0 + timedelta(minutes=4), "inc-0004")),
        ids(2, 1),
        id="after",
    ),
    # A limit keeps the newest.
    pytest.param(IncidentQuery(priorities=frozenset({"P1", "P2"}), limit=2), ids(5, 4), id="limit"),
]


@pytest.mark.parametrize(("query", "want"), FILTERS)
async def test_each_filter_and_combination_selects_its_incidents_newest_first(
    store: Store, query: IncidentQuery, want: list[str]
) -> None:
    await create(store, *INCIDENTS)
    assert await listed(store, query) == want


async def test_a_changed_field_moves_the_incident_to_the_lists_of_its_new_values(
    store: Store,
) -> None:
    await create(store, *INCIDENTS)
    moved = replace(
        INCIDENTS[0],
        version=2,
        state=S.ACKNOWLEDGED,
        assignee="bob",
        priority="P2",
        team=None,
        title="Latency fixed by bob",
    )
    await store.commit(CorrelationCommit(GROUP, incidents=(moved,)))
    # Out of the lists of its old values ...
    assert await listed(store, IncidentQuery(states=states(S.TRIGGERED))) == ids(6)
    assert await listed(store, IncidentQuery(team="web")) == ids(4, 2)
    assert await listed(store, IncidentQuery(priorities=frozenset({"P1"}))) == ids(4)
    assert await listed(store, IncidentQuery(title_contains="high")) == []
    # ... and in those of its new ones.
    assert await listed(store, IncidentQuery(assignee="bob")) == ids(3, 1)
    assert await listed(store, IncidentQuery(states=states(S.ACKNOWLEDGED))) == ids(2, 1)
    assert await listed(store, IncidentQuery(title_contains="FIXED")) == ids(1)


async def walk(store: Store, query: IncidentQuery, between: Any = None) -> list[str]:
    """Lists every page by its next position; ``between`` runs after each page."""
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = await store.incident_page(replace(query, after=after))
        seen += [s.incident.id for s in page.summaries]
        if page.next is None:
            return seen
        after = page.next
        if between is not None:
            await between()
    raise AssertionError("the pages did not end")


async def test_pages_neither_repeat_nor_skip_an_incident_while_incidents_are_added(
    store: Store,
) -> None:
    # Three incidents at each of seven instants: ties are ordered by id.
    first = [
        make_incident(n, opened_at=T0 + timedelta(minutes=n // 3), team="web")
        for n in range(1, 22)
    ]
    await create(store, *first)
    added = iter(range(100, 200))

    async def add_two_newer() -> None:
        # Newer than any listed: they belong before the walk's start (another team).
        for n in (next(added), next(added)):
            newer = T0 + timedelta(days=1, minutes=n)
            await create(store, make_incident(n, opened_at=newer, team="ops"))

    expected = [i.id for i in sorted(first, key=lambda i: (i.opened_at, i.id), reverse=True)]
    assert await walk(store, IncidentQuery(limit=4), add_two_newer) == expected
    # Filtered pages too, the last one exactly full.
    assert await walk(store, IncidentQuery(team="web", limit=3), add_two_newer) == expected


async def test_the_last_full_page_has_no_next(store: Store) -> None:
    await create(store, *INCIDENTS)
    page = await store.incident_page(IncidentQuery(team="web", limit=3))
    assert [s.incident.id for s in page.summaries] == ids(4, 2, 1)
    assert page.next is None
    page = await store.incident_page(IncidentQuery(team="web", limit=2))
    assert page.next == ListPosition(T0 + timedelta(minutes=2), "inc-0002")


# Layout 4: today's incident table without the list columns, their indexes and the
# title index, with incident_by_state.
LAYOUT_4_DOWNGRADE = """
DROP TRIGGER incident_title_added;
DROP TRIGGER incident_title_changed;
DROP TRIGGER incident_title_deleted;
DROP TABLE incident_title;
DROP INDEX incident_by_state_opened;
DROP INDEX incident_by_priority;
DROP INDEX incident_by_service;
DROP INDEX incident_by_team;
DROP INDEX incident_by_category;
DROP INDEX incident_by_assignee;
DROP INDEX incident_by_title;
ALTER TABLE incident DROP COLUMN priority;
ALTER TABLE incident DROP COLUMN team;
ALTER TABLE incident DROP COLUMN category;
ALTER TABLE incident DROP COLUMN assignee;
ALTER TABLE incident DROP COLUMN title_key;
CREATE INDEX incident_by_state ON incident (state, opened_at);
PRAGMA user_version = 4;
"""


async def test_sqlite_database_of_layout_4_gets_the_list_columns_from_the_bodies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tocsin.db"
    store = SQLiteStore(path)
    await store.open()
    await create(store, *INCIDENTS)
    await store.close()
    old = sqlite3.connect(path)
    old.executescript(LAYOUT_4_DOWNGRADE)
    old.close()

    migrated = SQLiteStore(path)
    await migrated.open()
    try:
        for query, want in (
            (IncidentQuery(team="web"), ids(4, 2, 1)),
            (IncidentQuery(priorities=frozenset({"P1"})), ids(4, 1)),
            (IncidentQuery(assignee="alice", category="availability"), ids(4, 2)),
            (IncidentQuery(title_contains="straße"), ids(4)),
        ):
            assert await listed(migrated, query) == want
    finally:
        await migrated.close()
    check = sqlite3.connect(path)
    try:
        layout = check.execute("PRAGMA user_version").fetchone()
        indexes = {n for (n,) in check.execute("SELECT name FROM sqlite_master")}
        sql, params = list_incidents_sql(IncidentQuery(team="web", limit=5))
        plan = check.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    finally:
        check.close()
    assert layout == (LAYOUT,)
    assert "incident_by_state" not in indexes
    assert {"incident_by_team", "incident_by_title", "incident_by_state_opened"} <= indexes
    # The store's list by team reads its index in order: no scan, no sort.
    assert "USING INDEX incident_by_team" in str(plan)
    assert "TEMP B-TREE" not in str(plan)


@pytest.mark.redis
async def test_redis_incidents_an_earlier_tocsin_stored_are_indexed_by_the_first_list(
    redis_url: str,
) -> None:
    store = RedisStore(redis_url)
    await store.open()
    await create(store, *INCIDENTS)
    # What an earlier Tocsin left: no list index, no marks on the incidents.
    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match="*incidents:by:*")]
        await client.delete(*keys)
        for n in range(1, 7):
            [incident_key] = [k async for k in client.scan_iter(match=f"*incident:inc-000{n}")]
            await client.hdel(incident_key, "indexed", "search", "folded_title")
    finally:
        await client.aclose()
    await store.close()

    upgraded = RedisStore(redis_url)
    await upgraded.open()
    try:
        assert await listed(upgraded, IncidentQuery(team="web")) == ids(4, 2, 1)
        assert await listed(upgraded, IncidentQuery(title_contains="straße")) == ids(4)
        # A commit after the upgrade moves an indexed incident as any other.
        await upgraded.commit(
            CorrelationCommit(GROUP, incidents=(replace(INCIDENTS[3], version=2, team="pay"),))
        )
        assert await listed(upgraded, IncidentQuery(team="web")) == ids(2, 1)
    finally:
        await upgraded.close()


@pytest.mark.redis
async def test_a_redis_page_stops_at_its_bound_and_next_walks_on(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bounds of 3 per script call and 6 per page over 20 incidents, of which the title
    # search selects the two oldest only: a text of two letters, which has no trigram set
    # to walk instead (test_incident_title_search_contract).
    monkeypatch.setattr(index, "_CALL_BUDGET", 3)
    monkeypatch.setattr(index, "PAGE_BUDGET", 6)
    store = RedisStore(redis_url)
    await store.open()
    try:
        many = [make_incident(n, title="needle" if n <= 2 else "hay") for n in range(1, 21)]
        await create(store, *many)
        query = IncidentQuery(title_contains="ne", limit=5)
        page = await store.incident_page(query)
        # Six examined (20..15), none selected: an empty page that goes on.
        assert page.summaries == []
        assert page.next == ListPosition(T0 + timedelta(minutes=15), "inc-0015")
        assert await walk(store, query) == ids(2, 1)
        # Unbounded, as list_incidents is, it finds both at once.
        assert [i.id for i in await store.list_incidents(query)] == ids(2, 1)
    finally:
        await store.close()


async def test_sqlite_title_search_past_its_first_walk_asks_the_trigram_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first walk compares the two newest titles only: what it cannot find, the
    # trigram index must (kept by the triggers when a title changes).
    monkeypatch.setattr(sqlite_list, "SCAN_FIRST", 2)
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        await create(store, *INCIDENTS)
        for text, want in (
            ("LATENCY", ids(5, 1)),  # one in the walk, one past it
            ("straße", ids(4)),  # casefolded both sides
            ("web-1", ids(1)),  # the oldest
            ("no such", []),
            # Quotes and FTS5 syntax are text; a NUL, which FTS5 cannot read, too.
            ('"x" OR y*', []),
            ("web\x00", []),
        ):
            assert await listed(store, IncidentQuery(title_contains=text)) == want
        renamed = replace(INCIDENTS[0], version=2, title="Latency fixed")
        await store.commit(CorrelationCommit(GROUP, incidents=(renamed,)))
        assert await listed(store, IncidentQuery(title_contains="fixed")) == ids(1)
        assert await listed(store, IncidentQuery(title_contains="web-1")) == []
    finally:
        await store.close()
