"""Incidents stored in the former ``reopened`` state read back as triggered, reopened once,
on both stores; the lifecycle's fields survive a round trip and default when absent."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from core.codec import decode_incident, encode_incident, stored_state_names
from core.incident import OPEN_STATES, Incident, IncidentState
from core.store import CorrelationCommit, GroupHead, IncidentQuery, Store, every_alert
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.contract.builders import T0, make_incident

# What the lifecycle added to the incident document; a document of before lacks them.
LIFECYCLE_KEYS = (
    "acknowledged_by",
    "resolved_by",
    "closed_by",
    "resolution_code",
    "resolution_notes",
    "auto_resolved",
    "hold_reason",
    "on_hold_since",
    "on_hold_total",
    "reopen_count",
    "state_changed_at",
)


def as_before(incident: Incident, state: str) -> bytes:
    """The incident's document as an earlier Tocsin wrote it, in ``state``."""
    document = orjson.loads(encode_incident(incident))
    for key in LIFECYCLE_KEYS:
        del document[key]
    document["state"] = state
    return orjson.dumps(document)


def test_a_reopened_document_reads_as_triggered_reopened_once() -> None:
    incident = make_incident(1)
    read = decode_incident(as_before(incident, "reopened"))
    assert (read.state, read.reopen_count) == (IncidentState.TRIGGERED, 1)
    assert read.is_open
    assert read == replace(incident, alerts={}, reopen_count=1)


def test_documents_of_before_get_the_lifecycle_defaults() -> None:
    incident = make_incident(2, state=IncidentState.RESOLVED, resolved_at=T0)
    assert decode_incident(as_before(incident, "resolved")) == replace(incident, alerts={})


def test_the_lifecycle_fields_survive_a_round_trip() -> None:
    incident = replace(
        make_incident(3, state=IncidentState.ON_HOLD),
        alerts={},
        acknowledged_at=T0 + timedelta(minutes=4),
        acknowledged_by="ana",
        resolved_by="ben",
        closed_by="tocsin",
        resolution_code="duplicate",
        resolution_notes="same as inc-0002 — Übertragung",
        auto_resolved=True,
        hold_reason="waiting on the vendor",
        on_hold_since=T0 + timedelta(minutes=5),
        on_hold_total=timedelta(minutes=12, microseconds=7),
        reopen_count=4,
        state_changed_at=T0 + timedelta(minutes=5),
    )
    assert decode_incident(encode_incident(incident)) == incident


def test_a_state_filter_on_triggered_also_asks_for_the_former_name() -> None:
    assert stored_state_names(OPEN_STATES) == ["acknowledged", "on_hold", "reopened", "triggered"]
    assert stored_state_names({IncidentState.RESOLVED}) == ["resolved"]


async def _write_two(store: Store) -> tuple[Incident, Incident]:
    """Writes an open incident and a resolved one; returns them."""
    triggered = make_incident(1)
    resolved = make_incident(2, state=IncidentState.RESOLVED, resolved_at=T0 + timedelta(hours=1))
    await store.commit(
        CorrelationCommit(
            "correlate",
            incidents=(triggered, resolved),
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in (triggered, resolved)),
            alerts=every_alert(triggered, resolved),
        )
    )
    return triggered, resolved


async def _assert_found_as_triggered(store: Store, incident: Incident) -> None:
    expected = replace(incident, reopen_count=1)
    assert await store.get_incident(incident.id) == expected
    for states in (OPEN_STATES, frozenset({IncidentState.TRIGGERED})):
        listed = await store.list_incidents(IncidentQuery(states=states, limit=10))
        assert listed == [expected]
    assert await store.incident_for_group(incident.group_key) == expected


async def test_sqlite_finds_a_reopened_incident_as_an_open_triggered_one(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        triggered, _ = await _write_two(store)
    finally:
        await store.close()
    # As an earlier Tocsin left it: the state column and the document say "reopened".
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE incident SET state = 'reopened', body = ? WHERE id = ?",
            (as_before(triggered, "reopened"), triggered.id),
        )
    store = SQLiteStore(path)
    await store.open()
    try:
        await _assert_found_as_triggered(store, triggered)
    finally:
        await store.close()


async def test_redis_finds_a_reopened_incident_as_an_open_triggered_one(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        triggered, _ = await _write_two(store)
        client = aioredis.from_url(redis_url)
        try:
            rewritten = 0
            for key in await client.keys(f"*incident:{triggered.id}"):
                if await client.type(key) != b"hash":
                    continue
                for field, value in (await client.hgetall(key)).items():
                    if value.startswith(b"{") and b'"state"' in value:
                        await client.hset(key, field, as_before(triggered, "reopened"))
                        rewritten += 1
            assert rewritten == 1
        finally:
            await client.aclose()
        await _assert_found_as_triggered(store, triggered)
    finally:
        await store.close()
