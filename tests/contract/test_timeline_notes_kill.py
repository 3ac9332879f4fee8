"""A consumer killed between its claim and its commit leaves no note; its successor notes once.

The consumer (tests.contract.note_consumer) runs in a child process on a real store,
commits some batches with their notes, claims one more and is killed with SIGKILL before
committing it; a member restarted under the same name drains the stream. Every event
must be noted exactly once on its incident's timeline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from core.store import CorrelationCommit, GroupHead, Store, every_alert
from tests.contract import note_consumer, stream_consumer
from tests.contract.builders import T0, make_event, make_incident

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = 5  # two events each: opened, then alerts_joined
COMMITS_BEFORE_KILL = 2
DEADLINE_SECONDS = 30.0


async def _write_events(store: Store) -> tuple[str, ...]:
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
    return tuple(i.id for i in incidents)


async def _noted(store: Store, ids: tuple[str, ...]) -> Counter[str]:
    """How often each stream position was noted, over every incident's timeline."""
    noted: Counter[str] = Counter()
    for incident_id in ids:
        for event in await store.incident_events(incident_id):
            if event.kind == note_consumer.KIND:
                noted[event.detail["position"]] += 1
    return noted


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The kind of store and where it is, for this process and the child alike."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "tocsin.db")
    return "redis", str(request.getfixturevalue("redis_url"))


async def test_a_consumer_killed_mid_batch_notes_every_event_once(
    backend: tuple[str, str],
) -> None:
    kind, target = backend
    store = stream_consumer.open_store(kind, target)
    await store.open()
    ids = await _write_events(store)
    await store.close()  # the child takes the SQLite file's writes

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.contract.note_consumer",
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
    assert len(in_flight) == stream_consumer.BATCH

    store = stream_consumer.open_store(kind, target)
    await store.open()
    try:
        # The committed batches' notes are there; the killed batch's are not.
        before = await _noted(store, ids)
        assert sum(before.values()) == COMMITS_BEFORE_KILL * stream_consumer.BATCH
        assert not set(before) & set(in_flight)

        await note_consumer.drain(store, "m1")

        every = await store.claim_events("audit", "a", 100, now=T0, lease=stream_consumer.LEASE)
        after = await _noted(store, ids)
    finally:
        await store.close()
    positions = [event.position for event in every.events]
    assert len(positions) == 2 * INCIDENTS  # no note entered the stream
    assert after == Counter(dict.fromkeys(positions, 1))
