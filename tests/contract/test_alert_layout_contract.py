"""Alerts an earlier Tocsin stored without their source fields still read back (issue 9 item 5).

Before incidents kept each alert's annotations, generator URL, source start and receipt
times, an alert document held none of them. Such documents, as that Tocsin wrote them
into each backend, read back with those fields empty (receipt read from when the
correlator saw the alert), and the next commit of the alert writes them whole.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from core.store import CorrelationCommit, GroupHead, IncidentAlertWrite, Store, every_alert
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from core.timestamps import micros
from tests.contract.builders import T0, make_incident

GROUP = "correlate"


def previous_document(n: int) -> bytes:
    """Incident ``n``'s alert as the previous layout wrote it: no source fields."""
    (alert,) = make_incident(n).alerts.values()
    return orjson.dumps(
        {
            "fingerprint": alert.fingerprint,
            "labels": alert.labels,
            "status": alert.status.value,
            "first_seen": micros(alert.first_seen),
            "last_seen": micros(alert.last_seen),
            "count": alert.count,
            "position": alert.position,
            "ends_at": None,
            "transitions": [micros(t) for t in alert.transitions],
            "muted_by": None,
        }
    )


async def store_previous_layout(store: Store, tmp_path: Path, redis_url: str | None) -> str:
    """Creates incident 1, then puts its alert back as the previous layout stored it."""
    incident = make_incident(1)
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            alerts=every_alert(incident),
        )
    )
    if isinstance(store, SQLiteStore):
        check = sqlite3.connect(tmp_path / "tocsin.db")
        with check:
            check.execute(
                "UPDATE incident_alert_batch SET body = ? WHERE incident_id = ?",
                (orjson.dumps([orjson.loads(previous_document(1))]), incident.id),
            )
        check.close()
    else:
        assert isinstance(store, RedisStore)
        assert redis_url is not None
        client = Redis.from_url(redis_url)
        (fingerprint,) = incident.alerts
        await client.hset(
            f"tocsin:incident:{incident.id}:alerts", fingerprint, previous_document(1)
        )
        await client.aclose()
    return incident.id


async def check_previous_layout(store: Store, incident_id: str) -> None:
    read = await store.get_incident(incident_id)
    assert read is not None
    (alert,) = read.alerts.values()
    (original,) = make_incident(1).alerts.values()
    assert alert.annotations == {}
    assert alert.generator_url == ""
    assert alert.starts_at is None
    assert alert.first_received_at == original.first_seen
    assert alert.last_received_at == original.last_seen
    assert (alert.count, alert.labels) == (original.count, original.labels)

    # The next commit of the alert writes today's layout: everything reads back.
    refreshed = replace(
        original,
        count=4,
        last_seen=T0 + timedelta(hours=1),
        last_received_at=T0 + timedelta(hours=1),
    )
    updated = replace(read, version=read.version + 1, alerts={refreshed.fingerprint: refreshed})
    await store.commit(
        CorrelationCommit(
            GROUP, incidents=(updated,), alerts=(IncidentAlertWrite(incident_id, refreshed),)
        )
    )
    again = await store.get_incident(incident_id)
    assert again is not None
    assert again.alerts[refreshed.fingerprint] == refreshed


async def test_sqlite_alerts_of_the_previous_layout_read_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        incident_id = await store_previous_layout(store, tmp_path, None)
        await check_previous_layout(store, incident_id)
    finally:
        await store.close()


@pytest.mark.redis
async def test_redis_alerts_of_the_previous_layout_read_back(
    redis_url: str, tmp_path: Path
) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        incident_id = await store_previous_layout(store, tmp_path, redis_url)
        await check_previous_layout(store, incident_id)
    finally:
        await store.close()
