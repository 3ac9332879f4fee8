"""The store contract: every backend passes these same tests against a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.errors import StoreUnavailable
from core.model import AlertStatus
from core.store import Store
from core.store.redis import RedisStore
from tests.contract.builders import T0, StoreOpener, make_alert
from tests.support import free_port


async def test_append_then_read_returns_the_same_alerts_in_order(store: Store) -> None:
    alerts = [
        # Defaults: firing, no end, no dedup key, not acknowledged.
        make_alert(1),
        # Every optional field set; non-ASCII labels and annotations; another source.
        make_alert(
            2,
            source="pagerduty",
            labels={"サービス": "決済", "emoji": "🔥", "quote": 'a"b\\c'},
            annotations={"description": "Übertragung fehlgeschlagen\nzweite Zeile"},
            status=AlertStatus.RESOLVED,
            ends_at=T0 + timedelta(hours=1, microseconds=1),
            generator_url="",
            dedup_key="db-primary/disk",
            acknowledged=True,
        ),
        # Empty label and annotation sets, acknowledged while still firing.
        make_alert(3, labels={}, annotations={}, acknowledged=True, dedup_key="k"),
    ]

    await store.append(alerts)
    entries = await store.read(None, 10)

    assert [entry.alert for entry in entries] == alerts
    assert len({entry.cursor for entry in entries}) == len(alerts)


async def test_read_after_cursor_returns_only_later_entries(store: Store) -> None:
    await store.append([make_alert(n) for n in range(5)])
    first_two = await store.read(None, 2)

    later = await store.read(first_two[-1].cursor, 10)

    assert [entry.alert.fingerprint for entry in later] == [
        make_alert(n).fingerprint for n in (2, 3, 4)
    ]
    assert await store.read(later[-1].cursor, 10) == []


async def test_read_after_cursor_sees_entries_appended_later(store: Store) -> None:
    await store.append([make_alert(1)])
    [first] = await store.read(None, 10)

    await store.append([make_alert(2)])

    assert [entry.alert for entry in await store.read(first.cursor, 10)] == [make_alert(2)]


async def test_read_returns_at_most_limit_entries(store: Store) -> None:
    await store.append([make_alert(n) for n in range(7)])

    page = await store.read(None, 3)

    assert [entry.alert.fingerprint for entry in page] == [
        make_alert(n).fingerprint for n in range(3)
    ]


async def test_reading_in_pages_returns_every_entry_once(store: Store) -> None:
    await store.append([make_alert(n) for n in range(7)])

    seen: list[str] = []
    cursor: str | None = None
    while page := await store.read(cursor, 3):
        seen.extend(entry.alert.fingerprint for entry in page)
        cursor = page[-1].cursor

    assert seen == [make_alert(n).fingerprint for n in range(7)]


async def test_read_of_empty_log_returns_nothing(store: Store) -> None:
    assert await store.read(None, 10) == []


async def test_append_of_no_alerts_adds_nothing(store: Store) -> None:
    await store.append([])

    assert await store.read(None, 10) == []


async def test_load_cursor_of_unknown_consumer_returns_none(store: Store) -> None:
    assert await store.load_cursor("correlate") is None


async def test_saved_cursor_loads_back(store: Store) -> None:
    await store.append([make_alert(1)])
    [entry] = await store.read(None, 1)

    await store.save_cursor("correlate", entry.cursor)

    assert await store.load_cursor("correlate") == entry.cursor
    assert await store.load_cursor("statuspage") is None


async def test_saving_a_cursor_again_overwrites_it(store: Store) -> None:
    await store.append([make_alert(1), make_alert(2)])
    first, second = await store.read(None, 2)

    await store.save_cursor("correlate", first.cursor)
    await store.save_cursor("correlate", second.cursor)

    assert await store.load_cursor("correlate") == second.cursor


async def test_concurrent_appends_from_50_tasks_each_land_exactly_once(store: Store) -> None:
    # Two alerts per call, so that a call's alerts and the batching of calls both count.
    batches = [[make_alert(2 * task), make_alert(2 * task + 1)] for task in range(50)]

    await asyncio.gather(*(store.append(batch) for batch in batches))
    entries = await store.read(None, 1000)

    fingerprints = [entry.alert.fingerprint for entry in entries]
    assert len(fingerprints) == 100
    assert set(fingerprints) == {alert.fingerprint for batch in batches for alert in batch}


async def test_data_survives_close_and_reopen(open_store: StoreOpener) -> None:
    first = await open_store()
    await first.append([make_alert(1), make_alert(2)])
    [entry, _] = await first.read(None, 10)
    await first.save_cursor("correlate", entry.cursor)
    await first.close()

    second = await open_store()
    try:
        entries = await second.read(None, 10)
        cursor = await second.load_cursor("correlate")
    finally:
        await second.close()

    assert [e.alert for e in entries] == [make_alert(1), make_alert(2)]
    assert cursor == entry.cursor


async def test_append_to_closed_store_raises_store_unavailable(open_store: StoreOpener) -> None:
    closed = await open_store()
    await closed.close()

    with pytest.raises(StoreUnavailable):
        await closed.append([make_alert(1)])


async def test_read_and_ping_of_closed_store_raise_store_unavailable(
    open_store: StoreOpener,
) -> None:
    closed = await open_store()
    await closed.close()

    with pytest.raises(StoreUnavailable):
        await closed.read(None, 10)
    with pytest.raises(StoreUnavailable):
        await closed.ping()


async def test_ping_of_open_store_succeeds(store: Store) -> None:
    await store.ping()


# SQLite has no server that could be unreachable; this case exists for Redis only.
async def test_append_to_unreachable_redis_raises_store_unavailable() -> None:
    unreachable = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    await unreachable.open()
    try:
        with pytest.raises(StoreUnavailable):
            await unreachable.append([make_alert(1)])
        with pytest.raises(StoreUnavailable):
            await unreachable.ping()
    finally:
        await unreachable.close()
