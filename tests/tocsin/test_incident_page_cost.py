"""A list or a detail page of a storm incident reads what the page shows (issue 9, item 3).

Shown through behaviour, not time: alert documents that are never part of the page are
made unreadable as alerts (valid JSON, a required field gone). A list of incidents, which
shows counts only, and a detail page of other alerts still answer 200 with whole counts,
on SQLite and on a real redis-server; reading the whole incident, as before, fails on
them. And the detail's page reader holds a page's documents, not the incident's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from core.clock import ManualClock
from core.codec import encode_alert
from core.incident import Incident
from core.model import AlertStatus
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, every_alert
from core.store.alert_pages import PageCollector
from tests.app_harness import ENV, STAGE_ACTORS, START, VIEWER
from tests.contract.builders import make_event, make_incident
from tocsin.app import create_app
from tocsin.keys import STORE

Client = TestClient  # type: ignore[type-arg]
ALERTS = 3_000
# The fingerprints past every page the tests read: their documents are broken.
BROKEN = 100


def storm() -> Incident:
    base = make_incident(1)
    [template] = base.alerts.values()
    alerts = {}
    for n in range(ALERTS):
        fingerprint = f"{n:016x}"
        alerts[fingerprint] = replace(
            template,
            fingerprint=fingerprint,
            labels={"alertname": "NodeDown", "instance": f"host-{n}"},
            status=AlertStatus.RESOLVED if n % 3 == 0 else AlertStatus.FIRING,
        )
    return replace(base, alerts=alerts)


def broken(fingerprint: str) -> bytes:
    """An alert document that parses as JSON but not as an alert (no first_seen)."""
    [template] = make_incident(1).alerts.values()
    document = orjson.loads(encode_alert(replace(template, fingerprint=fingerprint)))
    del document["first_seen"]
    return orjson.dumps(document)


async def served(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> tuple[Client, Incident]:
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    incident = storm()
    await client.app[STORE].commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=(make_event(incident, 1),),
            alerts=every_alert(incident),
        )
    )
    return client, incident


def last_fingerprints() -> list[str]:
    return [f"{n:016x}" for n in range(ALERTS - BROKEN, ALERTS)]


def break_sqlite(path: Path, incident_id: str) -> None:
    """Adds a batch row of broken documents for the last fingerprints (they win: later)."""
    batch = b"[" + b",".join(broken(f) for f in last_fingerprints()) + b"]"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO incident_alert_batch (incident_id, body) VALUES (?, ?)",
            (incident_id, batch),
        )


async def break_redis(url: str, incident_id: str) -> None:
    client = Redis.from_url(url)
    try:
        key = f"tocsin:incident:{incident_id}:alerts"
        await client.hset(key, mapping={f: broken(f) for f in last_fingerprints()})
    finally:
        await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def broken_storm(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> tuple[Client, Incident]:
    """A server whose storm incident has documents no whole read can decode."""
    if request.param == "sqlite":
        client, incident = await served(aiohttp_client, make_settings(correlate=False))
        break_sqlite(tmp_path / "tocsin.db", incident.id)
    else:
        url: str = request.getfixturevalue("redis_url")
        client, incident = await served(aiohttp_client, make_settings(correlate=False, store=url))
        await break_redis(url, incident.id)
    return client, incident


async def test_the_list_reads_no_alert_of_its_incidents(
    broken_storm: tuple[Client, Incident],
) -> None:
    client, incident = broken_storm

    response = await client.get("/api/v1/incidents?limit=50", headers=VIEWER)

    assert response.status == 200, await response.text()
    [listed] = (await response.json())["incidents"]
    assert listed["id"] == incident.id
    assert listed["counts"] == {"alerts": ALERTS, "firing": 2_000, "resolved": 1_000}


async def test_a_detail_page_decodes_only_its_own_alerts(
    broken_storm: tuple[Client, Incident],
) -> None:
    client, incident = broken_storm

    response = await client.get(
        f"/api/v1/incidents/{incident.id}?alerts_limit=5&timeline_limit=1", headers=VIEWER
    )

    assert response.status == 200, await response.text()
    body = await response.json()
    assert [a["fingerprint"] for a in body["alerts"]] == sorted(incident.alerts)[:5]
    assert body["counts"] == {"alerts": ALERTS, "firing": 2_000, "resolved": 1_000}
    # The timeline's total is whole: one entry of people's, plus the paging stages' notes
    # (written in the background; they only ever add, so a later full read has as many).
    full = await client.get(
        f"/api/v1/incidents/{incident.id}?alerts_limit=1&timeline_limit=100", headers=VIEWER
    )
    timeline = (await full.json())["timeline"]
    assert len([e for e in timeline if e["actor"] not in STAGE_ACTORS]) == 1
    assert 1 <= body["timeline_page"]["total"] <= len(timeline)
    # The whole incident, as the detail read it before, cannot be read any more.
    with pytest.raises(KeyError):
        await client.app[STORE].get_incident(incident.id)


def test_the_page_reader_keeps_a_page_of_documents_whatever_the_incident() -> None:
    collector = PageCollector("", 10)
    documents = [{"fingerprint": f"{(n * 7919) % 100_003:08x}", "n": n} for n in range(100_000)]
    for start in range(0, len(documents), 2_000):
        collector.add(documents[start : start + 2_000])
        assert len(collector._chosen) <= 11
    smallest = sorted({d["fingerprint"] for d in documents})[:11]
    assert sorted(collector._chosen) == smallest
