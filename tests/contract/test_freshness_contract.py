"""The contract of AlertEnds and StoreIdentity: alerts' latest ends, and the store's identity."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.store import Store
from tests.contract.builders import T0, StoreOpener, make_alert


async def test_an_end_is_kept_only_if_later_than_the_one_recorded(store: Store) -> None:
    await store.extend_ends({"a": T0 + timedelta(minutes=4), "b": T0 + timedelta(minutes=2)})
    await store.extend_ends({"a": T0 + timedelta(minutes=3), "b": T0 + timedelta(minutes=5)})
    ends = await store.latest_ends(["a", "b", "never-recorded"])
    assert ends == {"a": T0 + timedelta(minutes=4), "b": T0 + timedelta(minutes=5)}


async def test_ends_written_concurrently_with_appends_keep_the_latest(store: Store) -> None:
    # Requests that land out of order never move an end back.
    ends = [T0 + timedelta(seconds=s) for s in (30, 10, 50, 20, 40)]
    await asyncio.gather(
        *(store.extend_ends({"a": end}) for end in ends),
        store.append([make_alert(1), make_alert(2)]),
    )
    assert await store.latest_ends(["a"]) == {"a": T0 + timedelta(seconds=50)}
    assert len(await store.read(None, 10)) == 2


async def test_ends_keep_microseconds_and_survive_a_new_client(
    store: Store, open_store: StoreOpener
) -> None:
    end = T0 + timedelta(days=400, microseconds=1)
    await store.extend_ends({"a": end})
    other = await open_store()
    try:
        assert await other.latest_ends(["a"]) == {"a": end}
    finally:
        await other.close()


async def test_forget_deletes_only_the_ends_before_the_instant(store: Store) -> None:
    await store.extend_ends(
        {"old": T0, "edge": T0 + timedelta(minutes=1), "new": T0 + timedelta(minutes=2)}
    )
    await store.forget_ends(T0 + timedelta(minutes=1))
    assert set(await store.latest_ends(["old", "edge", "new"])) == {"edge", "new"}


async def test_nothing_asked_nothing_written(store: Store) -> None:
    await store.extend_ends({})
    assert await store.latest_ends([]) == {}


async def test_identity_is_the_same_for_every_client_of_the_same_data(
    store: Store, open_store: StoreOpener
) -> None:
    first = await store.identity()
    assert first
    assert await store.identity() == first
    other = await open_store()
    try:
        assert await other.identity() == first
    finally:
        await other.close()
