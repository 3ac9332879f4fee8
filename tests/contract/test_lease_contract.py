"""Leases and live members: how several correlators split the partitions of the log."""

from __future__ import annotations

import pytest

from core.store import Store
from core.store.redis import RedisStore


async def test_holder_keeps_renewing_its_lease(store: Store) -> None:
    assert await store.hold_lease("p0", "m1", 30)
    assert await store.hold_lease("p0", "m1", 30)


async def test_a_member_is_among_the_live_members(store: Store) -> None:
    assert "m1" in await store.live_members("correlate", "m1", 30)


# Competing members exist on Redis only: SQLite serves one process.


@pytest.mark.redis
async def test_a_held_lease_is_refused_to_others_until_released(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        assert await store.hold_lease("p0", "m1", 30)
        assert not await store.hold_lease("p0", "m2", 30)
        # Releasing someone else's lease does nothing.
        await store.release_lease("p0", "m2")
        assert not await store.hold_lease("p0", "m2", 30)
        await store.release_lease("p0", "m1")
        assert await store.hold_lease("p0", "m2", 30)
    finally:
        await store.close()


@pytest.mark.redis
async def test_live_members_lists_every_announced_member_sorted(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        await store.live_members("correlate", "m2", 30)
        assert await store.live_members("correlate", "m1", 30) == ["m1", "m2"]
        # Another group's members are not counted.
        assert await store.live_members("other", "x", 30) == ["x"]
    finally:
        await store.close()
