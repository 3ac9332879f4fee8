"""A consumer of the incident event stream for the tests, run in-process or as a child.

Its effect per event makes a second application visible: each event's document counts
how often the event was applied, and a tally counts every event applied. The child
(``python -m tests.contract.stream_consumer sqlite|redis TARGET MEMBER COMMITS``)
commits COMMITS batches, claims one more, says which, and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from core.store import Store
from core.store.events import ConsumerWrite, EventBatch
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.contract.builders import T0

GROUP = "escalation"
COLLECTION = "applied"
TALLY = "tally"
BATCH = 2
LEASE = timedelta(seconds=30)


async def claim(store: Store, member: str) -> EventBatch:
    """Claims the next batch for ``member`` at the tests' fixed time."""
    return await store.claim_events(GROUP, member, BATCH, now=T0, lease=LEASE)


async def apply(store: Store, batch: EventBatch) -> None:
    """Counts each event of the batch once more, with the cursor, in one commit."""
    keys = [event.position for event in batch.events]
    held = await store.consumer_documents(COLLECTION, [*keys, TALLY])
    writes = [
        ConsumerWrite(COLLECTION, key, {"applied": held.get(key, {"applied": 0})["applied"] + 1})
        for key in keys
    ]
    tally = held.get(TALLY, {"applied": 0})["applied"] + len(keys)
    writes.append(ConsumerWrite(COLLECTION, TALLY, {"applied": tally}))
    await store.commit_events(batch, writes)


async def drain(store: Store, member: str) -> None:
    """Applies every batch until the stream has nothing new for ``member``."""
    while (batch := await claim(store, member)).events:
        await apply(store, batch)


def open_store(kind: str, target: str) -> Store:
    """The store of ``kind`` at ``target`` (a file path or a redis:// URL), not yet open."""
    return SQLiteStore(Path(target)) if kind == "sqlite" else RedisStore(target)


async def _child(kind: str, target: str, member: str, commits: int) -> None:
    store = open_store(kind, target)
    await store.open()
    for _ in range(commits):
        await apply(store, await claim(store, member))
    batch = await claim(store, member)
    print("claimed", *(event.position for event in batch.events), flush=True)
    # Killed here, between its claim and its commit.
    await asyncio.to_thread(sys.stdin.readline)


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
