"""POST /v2/enqueue: the PagerDuty Events API v2, with PagerDuty's answers."""

from __future__ import annotations

import re

from core.fingerprint import dedup_key_fingerprint
from core.model import AlertStatus
from tests.app_harness import ENV, Ingest

KEY = ENV["PD_KEY"]


def trigger(**extra: object) -> dict[str, object]:
    return {
        "routing_key": KEY,
        "event_action": "trigger",
        "payload": {
            "summary": "DB latency high",
            "source": "db1.example",
            "severity": "error",
            "component": "postgres",
            "group": "prod-db",
            "class": "latency",
            "custom_details": {"p99_ms": 2300},
        },
        "client": "Sentry",
        "client_url": "https://sentry.example/issue/9",
        **extra,
    }


async def test_trigger_without_dedup_key_gets_a_generated_one_and_202(ingest: Ingest) -> None:
    response = await ingest.client.post("/v2/enqueue", json=trigger())
    assert response.status == 202
    answer = await response.json()
    assert answer["status"] == "success"
    assert answer["message"] == "Event processed"
    assert re.fullmatch(r"[0-9a-f]{32}", answer["dedup_key"])
    [alert] = await ingest.stored()
    assert alert.dedup_key == answer["dedup_key"]
    assert alert.labels == {
        "source": "db1.example",
        "severity": "error",
        "component": "postgres",
        "group": "prod-db",
        "class": "latency",
    }
    assert alert.annotations == {"summary": "DB latency high", "details": '{"p99_ms":2300}'}
    assert alert.generator_url == "https://sentry.example/issue/9"


async def test_acknowledge_and_resolve_address_the_triggered_alert(ingest: Ingest) -> None:
    await ingest.client.post("/v2/enqueue", json=trigger(dedup_key="db-latency"))
    for action in ("acknowledge", "resolve"):
        response = await ingest.client.post(
            "/v2/enqueue",
            json={"routing_key": KEY, "event_action": action, "dedup_key": "db-latency"},
        )
        assert response.status == 202
        assert (await response.json())["dedup_key"] == "db-latency"
    triggered, acknowledged, resolved = await ingest.stored()
    assert triggered.fingerprint == acknowledged.fingerprint == resolved.fingerprint
    assert triggered.fingerprint == dedup_key_fingerprint("pd", "db-latency")
    assert acknowledged.acknowledged
    assert acknowledged.status is AlertStatus.FIRING
    assert resolved.status is AlertStatus.RESOLVED


async def test_invalid_event_gets_pagerdutys_error_body(ingest: Ingest) -> None:
    event = trigger()
    event["payload"] = {"source": "db1", "severity": "urgent"}
    response = await ingest.client.post("/v2/enqueue", json=event)
    assert response.status == 400
    answer = await response.json()
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    assert "'payload.summary' is missing or blank" in answer["errors"]
    assert {p["field"] for p in answer["problems"]} == {"payload.summary", "payload.severity"}
    assert await ingest.stored() == []


async def test_resolve_without_dedup_key_is_invalid(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/v2/enqueue", json={"routing_key": KEY, "event_action": "resolve"}
    )
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "dedup_key"


async def test_unknown_routing_key_is_unauthenticated(ingest: Ingest) -> None:
    response = await ingest.client.post("/v2/enqueue", json=trigger(routing_key="f" * 32))
    assert response.status == 401
    assert await ingest.stored() == []
    assert (
        ingest.metric("tocsin_alerts_rejected_total", source="unknown", reason="unauthenticated")
        == 1
    )
