"""A consumer killed between its claim and its commit applies every event exactly once.

The consumer runs in a child process on a real store, commits some batches, claims one
more and is killed with SIGKILL before committing it; a member restarted under the same
name then drains the stream. Every event's effect must be applied once: neither lost with
the child nor applied twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from core.store import CorrelationCommit, GroupHead, Store, every_alert
from tests.contract import stream_consumer as consumer
from tests.contract.builders import T0, make_event, make_incident

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = 5  # two events each: opened, then alerts_joined
COMMITS_BEFORE_KILL = 2
DEADLINE_SECONDS = 30.0


async def _write_events(store: Store) -> None:
    incidents = tuple(make_incident(n) for n in range(1, INCIDENTS + 1))
    await store.commit(
        CorrelationCommit(
            "correlator",
            incidents=incidents,
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            events=tuple(
                make_event(i, n, kind)
                for i in incidents
                for n, kind in ((1, "opened"), (2, "alerts_joined"))
            ),
            alerts=every_alert(*incidents),
        )
    )


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The kind of store and where it is, for this process and the child alike."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "tocsin.db")
    return "redis", str(request.getfixturevalue("redis_url"))


async def test_a_consumer_killed_mid_batch_sees_every_event_once(backend: tuple[str, str]) -> None:
    kind, target = backend
    store = consumer.open_store(kind, target)
    await store.open()
    await _write_events(store)
    await store.close()  # the child takes the SQLite file's writes

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.contract.stream_consumer",
        kind,
        target,
        "m1",
        str(COMMITS_BEFORE_KILL),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), DEADLINE_SECONDS)
    os.kill(child.pid, signal.SIGKILL)
    await asyncio.wait_for(child.wait(), DEADLINE_SECONDS)
    word, *in_flight = line.decode().split()
    assert word == "claimed"
    assert len(in_flight) == consumer.BATCH

    store = consumer.open_store(kind, target)
    await store.open()
    try:
        # Nothing of the killed batch was applied, and the cursor is before it.
        assert await store.consumer_documents(consumer.COLLECTION, in_flight) == {}
        restarted = await consumer.claim(store, "m1")
        assert [e.position for e in restarted.events] == in_flight

        await consumer.drain(store, "m1")

        every = (await store.claim_events("audit", "a", 100, now=T0, lease=consumer.LEASE)).events
        positions = [event.position for event in every]
        applied = await store.consumer_documents(consumer.COLLECTION, [*positions, consumer.TALLY])
    finally:
        await store.close()
    assert len(positions) == 2 * INCIDENTS
    assert {key: doc["applied"] for key, doc in applied.items()} == {
        **{position: 1 for position in positions},
        consumer.TALLY: 2 * INCIDENTS,
    }
