"""The title search of the incident list among many incidents, on both stores (issue 10).

A rare text is found on the first page even when a page may examine only a few
incidents (Redis walks the smallest title trigram set of the text, SQLite asks its
trigram index); a title change moves the incident between texts in the same commit; and
on Redis the incidents indexed before the trigram sets existed are put in them by the
first list.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from core.incident import Incident
from core.store import CorrelationCommit, IncidentQuery, Store
from core.store import redis_incident_index as index
from core.store import sqlite_incident_list as sqlite_list
from core.store.redis import RedisStore
from tests.contract.builders import T0, make_incident
from tests.contract.test_incident_list_contract import GROUP, create, ids, listed, walk

# 120 incidents titled alike, and among the oldest three rare ones: two opened at the
# same instant (ordered by id) and one with a title that casefolds to another spelling.
COMMON = [make_incident(n, title=f"High latency on web-{n}") for n in range(10, 130)]
RARE = [
    make_incident(1, title="Kernel panic on db-1"),
    make_incident(2, opened_at=T0 + timedelta(minutes=3), title="kernel PANIC on db-2"),
    make_incident(3, title="Kernel panic on db-3"),
    make_incident(4, title="Zahlung Straße kaputt"),
]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages that may examine a few incidents only, as 100,000 are to 5,000 (both stores)."""
    monkeypatch.setattr(index, "_CALL_BUDGET", 3)
    monkeypatch.setattr(index, "PAGE_BUDGET", 6)
    monkeypatch.setattr(sqlite_list, "SCAN_FIRST", 6)


async def first_page(store: Store, text: str, limit: int = 10) -> tuple[list[str], bool]:
    """The ids of the first page of the text, and whether it has a next."""
    page = await store.incident_page(IncidentQuery(title_contains=text, limit=limit))
    return [s.incident.id for s in page.summaries], page.next is not None


TEXTS = [
    # Rare: the three panics past a hundred newer titles, newest first, ties by id.
    pytest.param("panic", ids(3, 2, 1), id="rare"),
    # Casefolded both sides: ß is "ss".
    pytest.param("STRASSE", ids(4), id="casefold"),
    pytest.param("straße k", ids(4), id="casefold-space"),
    # Each trigram held by some title, the text by none.
    pytest.param("panic on web", [], id="trigrams-apart"),
    # A trigram that no title holds.
    pytest.param("qqq", [], id="no-trigram"),
]


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize(("text", "want"), TEXTS)
async def test_a_rare_title_among_many_is_on_the_first_page(
    store: Store, text: str, want: list[str]
) -> None:
    await create(store, *RARE, *COMMON)
    assert await first_page(store, text) == (want, False)
    assert await listed(store, IncidentQuery(title_contains=text)) == want


@pytest.mark.usefixtures("small_pages")
async def test_pages_of_a_rare_title_walk_by_next_as_any_list(store: Store) -> None:
    await create(store, *RARE, *COMMON)
    assert await first_page(store, "panic", limit=2) == (ids(3, 2), True)
    assert await walk(store, IncidentQuery(title_contains="panic", limit=1)) == ids(3, 2, 1)
    # A common text and a text under three characters list every match, page by page.
    common = [i.id for i in reversed(COMMON)]
    assert await walk(store, IncidentQuery(title_contains="latency on", limit=50)) == common
    assert await walk(store, IncidentQuery(title_contains="ß", limit=50)) == ids(4)


@pytest.mark.usefixtures("small_pages")
async def test_a_title_change_moves_the_incident_to_its_new_text(store: Store) -> None:
    await create(store, *RARE, *COMMON)
    renamed: list[Incident] = [
        replace(RARE[0], version=2, title="Disk full on db-1"),
        replace(COMMON[-1], version=2, title="Kernel panic on api-7"),
    ]
    await store.commit(CorrelationCommit(GROUP, incidents=tuple(renamed)))
    assert await first_page(store, "panic") == (ids(129, 3, 2), False)
    assert await first_page(store, "disk full") == (ids(1), False)
    assert await first_page(store, "db-1") == (ids(1), False)
    assert await first_page(store, "on api-7") == (ids(129), False)
    # The words only the old titles held select nobody.
    assert await first_page(store, "latency on web-129") == ([], False)
    # A commit that keeps the title keeps the incident where it is.
    await store.commit(CorrelationCommit(GROUP, incidents=(replace(renamed[0], version=3),)))
    assert await first_page(store, "disk full") == (ids(1), False)


@pytest.mark.redis
@pytest.mark.usefixtures("small_pages")
async def test_redis_incidents_indexed_before_the_trigram_sets_get_them_by_the_first_list(
    redis_url: str,
) -> None:
    store = RedisStore(redis_url)
    await store.open()
    await create(store, *RARE, *COMMON)
    # What the Tocsin before the trigram sets left: the list indexes and their marker,
    # the casefolded title in ``search``, no trigram set.
    client = Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter(match="*incidents:by:title:*"):
            await client.delete(key)
        await client.delete("tocsin:incidents:by:ready:2")
        await client.set("tocsin:incidents:by:ready", 1)
        async for key in client.scan_iter(match="*incident:inc-????"):
            title = await client.hget(key, "folded_title")
            await client.hset(key, "search", title or b"")
            await client.hdel(key, "folded_title")
    finally:
        await client.aclose()
    await store.close()

    upgraded = RedisStore(redis_url)
    await upgraded.open()
    try:
        assert await first_page(upgraded, "panic") == (ids(3, 2, 1), False)
        assert await listed(upgraded, IncidentQuery(title_contains="straße")) == ids(4)
        # A title change after the upgrade moves it as any other.
        renamed = replace(RARE[0], version=2, title="Disk full on db-1")
        await upgraded.commit(CorrelationCommit(GROUP, incidents=(renamed,)))
        assert await first_page(upgraded, "panic") == (ids(3, 2), False)
    finally:
        await upgraded.close()
