"""The start of a stream consumer's pass, as the escalation and SLA stages both make it.

A pass claims a batch of the incident event stream for its group (with the group's
lease), then reads its collection's documents that are due by now, and the stored
documents of every incident the batch or the due timers name. A member that does not
hold the lease gets no pass: another member decides meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.store.events import EventBatch, IncidentEventStream


@dataclass(frozen=True, slots=True)
class ConsumerPass:
    """What one pass starts from: the batch, the due documents, the stored ones by key."""

    batch: EventBatch
    due: list[tuple[str, dict[str, Any]]]
    stored: dict[str, dict[str, Any]]


async def start_pass(
    store: IncidentEventStream,
    group: str,
    collection: str,
    member: str,
    limit: int,
    *,
    now: datetime,
    lease: timedelta,
) -> ConsumerPass | None:
    """Claims the group's next batch and reads what it needs; None if another holds the lease."""
    batch = await store.claim_events(group, member, limit, now=now, lease=lease)
    if batch.holder != member:
        return None
    due = await store.due_documents(collection, now, limit)
    keys = list(dict.fromkeys([e.incident_id for e in batch.events] + [k for k, _ in due]))
    stored = await store.consumer_documents(collection, keys)
    return ConsumerPass(batch, due, dict(stored))
