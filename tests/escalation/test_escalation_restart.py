"""A stage member killed mid-batch, restarted or replaced: each step pages exactly once.

The kill is a cancellation at the moment the member commits (the last await of a pass):
everything it decided is lost, as when the process dies there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from core.store import Store
from core.store.events import ConsumerWrite, EventBatch
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    page,
    t,
)
from tests.support import poll_until


async def killed_pass(world: World, store: Store, member: str = "m1") -> None:
    """Runs one pass of ``member`` that dies when it commits."""

    async def dies(
        batch: EventBatch, writes: Sequence[ConsumerWrite] = (), notes: object = ()
    ) -> None:
        raise asyncio.CancelledError

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "commit_events", dies)
        with pytest.raises(asyncio.CancelledError):
            await world.stage(member).step()


async def test_a_member_killed_mid_batch_and_restarted_pages_each_step_once(
    store: Store,
) -> None:
    world = World(store)
    incidents = [await world.open(n) for n in (1, 2, 3)]

    world.clock.set(t(30))
    await killed_pass(world, store)
    after_kill = await world.outbox()
    await world.at(t(30))  # restarted: the same member takes its lease again at once
    world.clock.set(t(330))
    await killed_pass(world, store)
    await world.at(t(330))

    assert after_kill == []
    expected = [
        page(i, 1, level, 0, who) for i in incidents for level, who in ((0, "ann"), (1, "bob"))
    ]
    assert await world.outbox() == sorted(expected)


async def test_another_member_takes_over_once_the_lease_expires(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    world.clock.set(t(30))
    await killed_pass(world, store, "m1")

    before_expiry = await world.stage("m2").step()
    await world.at(t(30 + 31), world.stage("m2"))  # the 30 s lease of m1 has expired

    assert before_expiry == 0
    # The first page was due at 30 s; m2 pages it once, late, not twice.
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    escalation = await world.escalation(incident)
    assert escalation.due == t(61) + timedelta(minutes=5)


async def test_a_running_member_pages_and_frees_its_lease_when_stopped(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    world.clock.set(t(30))
    task = asyncio.create_task(world.stage("m1").run(idle=timedelta(milliseconds=10)))

    async def paged() -> list[str] | None:
        return await world.outbox() or None

    # Waits on the member's task (the clock stands still), with a deadline.
    await poll_until(paged, 10, interval=0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    taken_over = await world.stage("m2").step()
    batch = await store.claim_events("escalation", "m2", 1, now=t(30), lease=timedelta(1))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    assert taken_over == 0  # nothing left to do, but m2 got the lease at once:
    assert batch.holder == "m2"
