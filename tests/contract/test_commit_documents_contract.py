"""Consumer documents written by an incident commit (CorrelationCommit.documents).

The operator API records an Idempotency-Key in the same write as the change: both land,
or neither does, on SQLite and on Redis.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.store import CorrelationCommit, GroupHead, Store, VersionConflict, incident_change
from core.store.events import ConsumerWrite
from tests.contract.builders import T0, make_event, make_incident


async def opened(store: Store) -> None:
    incident = make_incident(1)
    await store.commit(
        CorrelationCommit(
            "test", incidents=(incident,), heads=(GroupHead(incident.group_key, None, incident.id),)
        )
    )


async def test_the_documents_are_written_with_the_incident(store: Store) -> None:
    await opened(store)
    changed = replace(make_incident(1), version=2, title="changed")
    record = ConsumerWrite("keys", "k1", {"answer": 1}, due=T0 + timedelta(hours=24))

    await store.commit(incident_change(changed, make_event(changed, 1), documents=(record,)))

    assert await store.consumer_documents("keys", ["k1", "k2"]) == {"k1": {"answer": 1}}
    assert await store.due_documents("keys", T0 + timedelta(days=2), 10) == [("k1", {"answer": 1})]
    stored = await store.get_incident(changed.id)
    assert stored is not None
    assert stored.title == "changed"


async def test_a_refused_commit_writes_no_document(store: Store) -> None:
    await opened(store)
    stale = replace(make_incident(1), version=3)  # the store holds version 1

    with pytest.raises(VersionConflict):
        await store.commit(incident_change(stale, documents=(ConsumerWrite("keys", "k1", {}),)))

    assert await store.consumer_documents("keys", ["k1"]) == {}


async def test_a_commit_deletes_a_document_given_none(store: Store) -> None:
    await opened(store)
    first = replace(make_incident(1), version=2)
    second = replace(make_incident(1), version=3)
    due = T0 + timedelta(hours=1)
    await store.commit(
        incident_change(first, documents=(ConsumerWrite("keys", "k1", {"a": 1}, due),))
    )

    await store.commit(incident_change(second, documents=(ConsumerWrite("keys", "k1"),)))

    assert await store.consumer_documents("keys", ["k1"]) == {}
    assert await store.due_documents("keys", due, 10) == []
