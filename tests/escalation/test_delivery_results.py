"""Delivery results share commits: those known while one is under way go in the next.

A real store under a thin wrapper that holds each commit until the test lets it go
and remembers what each carried, so the test controls which results are known while
a commit is under way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.errors import StoreError
from core.store import CorrelationCommit, Store
from core.store.events import ConsumerWrite, TimelineNote
from escalation.delivery_results import ResultCommits
from tests.escalation.escalation_world import any_store  # noqa: F401  (the fixture ``store``)


class _Gated:
    """Commits to ``store`` once let through; fails those whose number is in ``failing``."""

    def __init__(self, store: Store, failing: frozenset[int] = frozenset()) -> None:
        self.store = store
        self.failing = failing
        self.carried: list[list[str]] = []  # the document keys of each commit, in order
        self.gate = asyncio.Event()

    async def commit(self, commit: CorrelationCommit) -> None:
        self.carried.append([w.key for w in commit.documents])
        await self.gate.wait()
        if len(self.carried) in self.failing:
            raise StoreError("the store is gone")
        await self.store.commit(commit)


def _write(key: str) -> list[ConsumerWrite]:
    return [ConsumerWrite("outbox", key, {"status": "delivered", "key": key}, None)]


async def _started() -> None:
    """Lets the tasks created so far run up to their wait for a commit."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_results_known_during_a_commit_go_together_in_the_next(store: Store) -> None:
    gated = _Gated(store)
    told: list[Sequence[TimelineNote]] = []
    results = ResultCommits("escalation-delivery", gated.commit, told.append)

    first = asyncio.create_task(results.record(_write("a"), ()))
    await _started()
    later = [asyncio.create_task(results.record(_write(k), ())) for k in ("b", "c")]
    await _started()
    gated.gate.set()
    await asyncio.gather(first, *later)

    assert gated.carried == [["a"], ["b", "c"]]
    assert sorted(await store.consumer_documents("outbox", ["a", "b", "c"])) == ["a", "b", "c"]
    assert len(told) == 2  # the metrics hear of each commit once it landed


async def test_a_failed_commit_fails_every_result_it_carried(store: Store) -> None:
    gated = _Gated(store, failing=frozenset({2}))
    results = ResultCommits("escalation-delivery", gated.commit, lambda notes: None)

    first = asyncio.create_task(results.record(_write("a"), ()))
    await _started()
    later = [asyncio.create_task(results.record(_write(k), ())) for k in ("b", "c")]
    await _started()
    gated.gate.set()
    await first
    for task in later:
        with pytest.raises(StoreError):
            await task
    await results.record(_write("d"), ())  # the next commit goes ahead

    assert gated.carried == [["a"], ["b", "c"], ["d"]]
    assert sorted(await store.consumer_documents("outbox", ["a", "b", "c", "d"])) == ["a", "d"]


async def test_a_result_recorded_twice_in_one_commit_keeps_the_later(store: Store) -> None:
    gated = _Gated(store)
    results = ResultCommits("escalation-delivery", gated.commit, lambda notes: None)
    newer = [ConsumerWrite("outbox", "a", {"status": "failed", "key": "a"}, None)]

    first = asyncio.create_task(results.record(_write("z"), ()))
    await _started()
    later = [
        asyncio.create_task(results.record(_write("a"), ())),
        asyncio.create_task(results.record(newer, ())),
    ]
    await _started()
    gated.gate.set()
    await asyncio.gather(first, *later)

    assert gated.carried == [["z"], ["a"]]
    assert (await store.consumer_documents("outbox", ["a"]))["a"]["status"] == "failed"
