"""A consumer that notes each event it handles, for the killed-consumer test of notes.

Its effect per event is one timeline note naming the event's position, written with the
cursor (``commit_events(..., notes=...)``). The child
(``python -m tests.contract.note_consumer sqlite|redis TARGET MEMBER COMMITS``) commits
COMMITS batches, claims one more, says which, and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys

from core.store import Store
from core.store.events import EventBatch, TimelineNote
from tests.contract.stream_consumer import claim, open_store

KIND = "paged"


async def apply(store: Store, batch: EventBatch) -> None:
    """Notes each event of the batch on its incident's timeline, with the cursor."""
    notes = [
        TimelineNote(e.incident_id, KIND, e.at, "escalation", {"position": e.position})
        for e in batch.events
    ]
    await store.commit_events(batch, (), notes)


async def drain(store: Store, member: str) -> None:
    """Applies every batch until the stream has nothing new for ``member``."""
    while (batch := await claim(store, member)).events:
        await apply(store, batch)


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
