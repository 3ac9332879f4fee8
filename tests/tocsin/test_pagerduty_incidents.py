"""Issue 9 item 4 over HTTP: two unrelated PagerDuty triggers are two incidents, titled by summary."""

from __future__ import annotations

from typing import Any

from core.store import IncidentQuery
from tests.app_harness import ENV, VIEWER, Ingest
from tests.support import poll_until
from tocsin.keys import STORE


def trigger(summary: str, source: str, dedup_key: str) -> dict[str, Any]:
    """A PagerDuty Events API v2 trigger."""
    return {
        "routing_key": ENV["PD_KEY"],
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": source, "severity": "critical"},
    }


async def test_unrelated_triggers_open_two_incidents_titled_by_summary(ingest: Ingest) -> None:
    for body in (
        trigger("DB latency high", "db1", "db1-latency"),
        trigger("Queue consumer dead", "mq1", "mq1-consumer"),
    ):
        assert (await ingest.client.post("/v2/enqueue", json=body)).status == 202
    store = ingest.client.app[STORE]

    async def both() -> bool | None:
        incidents = await store.list_incidents(IncidentQuery())
        return True if sum(len(i.alerts) for i in incidents) == 2 else None

    await poll_until(both, deadline_seconds=10, interval=0.02)
    listing = await (await ingest.client.get("/api/v1/incidents", headers=VIEWER)).json()
    incidents = listing["incidents"]
    assert sorted(i["title"] for i in incidents) == ["DB latency high", "Queue consumer dead"]
    assert all(i["counts"]["alerts"] == 1 for i in incidents)
    assert all(i["group_key"].startswith("{}:fingerprint:") for i in incidents)
