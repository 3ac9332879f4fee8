"""Every open incident with its alerts' bodies still encoded: what Alertmanager's API decodes.

The same incidents, in the same order, as ``open_incident_documents``; the bodies decode
(``core.codec.documents_by_fingerprint``) to the same documents, of the latest write of
every alert, including the alerts an incident of the old layout holds inline.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from core.codec import documents_by_fingerprint
from core.incident import IncidentState
from core.model import AlertStatus
from core.store import (
    CorrelationCommit,
    IncidentAlertBodies,
    IncidentAlertWrite,
    Store,
    redis_incidents,
)
from core.store.redis import RedisStore
from core.store.redis_incidents import RedisIncidents
from core.store.sqlite import SQLiteStore
from tests.contract.builders import make_incident
from tests.contract.test_incident_alerts_contract import (
    GROUP,
    OLD_DOCUMENT,
    OLD_SQLITE_SCHEMA,
    big_incident,
    create,
    old_incident,
)
from tests.contract.test_open_incident_documents_contract import as_documents


async def test_bodies_decode_to_the_documents_of_the_same_incidents(store: Store) -> None:
    await create(store, big_incident(300))
    for n, state in [(2, IncidentState.ACKNOWLEDGED), (3, IncidentState.RESOLVED)]:
        await create(store, make_incident(n, state=state))

    documents = await store.open_incident_documents()
    bodies = await store.open_incident_alert_bodies()

    assert [b.incident for b in bodies] == [d.incident for d in documents]
    assert [b.incident.id for b in bodies] == ["inc-0002", "inc-0001"]
    assert [documents_by_fingerprint(b.bodies or []) for b in bodies] == [
        d.alerts for d in documents
    ]


async def test_bodies_are_of_the_latest_write(store: Store) -> None:
    opened = big_incident(20)
    await create(store, opened)
    first = next(iter(opened.alerts.values()))
    resolved = replace(first, status=AlertStatus.RESOLVED, count=7)
    updated = replace(opened, version=2, alerts={**opened.alerts, first.fingerprint: resolved})
    writes = (IncidentAlertWrite(opened.id, resolved),)
    await store.commit(CorrelationCommit(GROUP, incidents=(updated,), alerts=writes))

    [read] = await store.open_incident_alert_bodies()

    assert documents_by_fingerprint(read.bodies or []) == as_documents(updated)


async def test_incidents_of_known_versions_come_without_bodies(store: Store) -> None:
    first, second = big_incident(5), make_incident(2)
    await create(store, first)
    await create(store, second)

    unchanged = await store.open_incident_alert_bodies({first.id: 1, second.id: 1})
    # Only the version held counts: an older one is read again.
    stale = await store.open_incident_alert_bodies({first.id: 0})

    assert [(r.incident.id, r.bodies) for r in unchanged] == [(second.id, None), (first.id, None)]
    assert [(r.incident.id, r.bodies is None) for r in stale] == [
        (second.id, False),
        (first.id, False),
    ]


async def test_sqlite_inline_alerts_come_as_bodies(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SQLITE_SCHEMA)
    old.execute(
        "INSERT INTO incident VALUES (?, 1, 'triggered', 'checkout', ?, ?)",
        (OLD_DOCUMENT["id"], OLD_DOCUMENT["opened_at"], orjson.dumps(OLD_DOCUMENT)),
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        [read] = await store.open_incident_alert_bodies()
    finally:
        await store.close()

    assert read.incident.alerts == {}
    assert documents_by_fingerprint(read.bodies or []) == as_documents(old_incident())


@pytest.mark.redis
async def test_redis_inline_alerts_come_as_bodies(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await client.hset(
            "tocsin:incident:inc-0001", mapping={"version": 1, "body": orjson.dumps(OLD_DOCUMENT)}
        )
        await client.zadd("tocsin:incidents:opened", {"inc-0001": OLD_DOCUMENT["opened_at"]})
    finally:
        await client.aclose()
    store = RedisStore(redis_url)
    await store.open()
    try:
        [read] = await store.open_incident_alert_bodies()
    finally:
        await store.close()

    assert read.incident.alerts == {}
    assert documents_by_fingerprint(read.bodies or []) == as_documents(old_incident())


@pytest.mark.redis
async def test_redis_reads_many_alerts_in_bounded_pieces(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_incidents, "_READ_PIECE", 4)
    pieces: list[list[str]] = []
    read_piece = RedisIncidents._alert_bodies

    async def recorded(
        self: RedisIncidents, client: Redis, incident_ids: list[str]
    ) -> list[IncidentAlertBodies | None]:
        pieces.append(incident_ids)
        return await read_piece(self, client, incident_ids)

    monkeypatch.setattr(RedisIncidents, "_alert_bodies", recorded)
    store = RedisStore(redis_url)
    await store.open()
    try:
        await create(store, big_incident(6))
        for n in range(2, 7):
            await create(store, make_incident(n))
        documents = await store.open_incident_documents()
        pieces.clear()
        bodies = await store.open_incident_alert_bodies()
    finally:
        await store.close()

    # Newest first: five one-alert incidents in pieces of up to four alerts, then the
    # six-alert one alone, however big it is.
    assert pieces == [
        ["inc-0006", "inc-0005", "inc-0004", "inc-0003"],
        ["inc-0002"],
        ["inc-0001"],
    ]
    assert [b.incident for b in bodies] == [d.incident for d in documents]
    assert [documents_by_fingerprint(b.bodies or []) for b in bodies] == [
        d.alerts for d in documents
    ]
