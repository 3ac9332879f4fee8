"""Issue 9 items 5, 6 and 9: the answer names the field at fault, never a 500.

- item 5: PagerDuty ``payload.custom_details`` nested deeper than orjson writes (255
  levels) was a 500; it is a 400 naming the field.
- item 6: timestamps are compared to the nanosecond; only Go's zero instant is absent.
- item 9: 413, 415, 404 and 405 answers are JSON naming what they are about; /v2/enqueue
  answers 400 for a body that is not an object or a routing_key that is not a string.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.timestamps import parse_rfc3339, parse_rfc3339_ns
from tests.app_harness import AM_AUTH, ENV, HOOK_AUTH, PROM_AUTH, Ingest


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


def trigger(**payload: Any) -> dict[str, Any]:
    return {
        "routing_key": ENV["PD_KEY"],
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "db1", "severity": "error", **payload},
    }


async def test_custom_details_nested_too_deeply_is_a_400_naming_it(ingest: Ingest) -> None:
    response = await ingest.client.post("/v2/enqueue", json=trigger(custom_details=nested(300)))
    assert response.status == 400
    answer = await response.json()
    assert [p["field"] for p in answer["problems"]] == ["payload.custom_details"]
    # Nested as deep as orjson writes is taken.
    fine = await ingest.client.post("/v2/enqueue", json=trigger(custom_details=nested(200)))
    assert fine.status == 202


async def test_ends_before_starts_is_decided_on_nanoseconds(ingest: Ingest) -> None:
    alert = {
        "labels": {"alertname": "Nano"},
        "startsAt": "2026-11-27T15:00:00.000000002Z",
        "endsAt": "2026-11-27T15:00:00.000000001Z",
    }
    response = await ingest.client.post("/api/v2/alerts", json=[alert], headers=PROM_AUTH)
    assert response.status == 400
    assert [p["field"] for p in (await response.json())["problems"]] == ["endsAt"]
    # Equal to the nanosecond, or later by one: taken.
    same = {**alert, "endsAt": "2026-11-27T15:00:00.000000002Z"}
    later = {**alert, "endsAt": "2026-11-27T15:00:00.000000003Z"}
    for ok in (same, later):
        response = await ingest.client.post("/api/v2/alerts", json=[ok], headers=PROM_AUTH)
        assert response.status == 200, await response.text()


async def test_one_nanosecond_after_go_zero_time_is_a_start(ingest: Ingest) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "Ancient"},
        "startsAt": "0001-01-01T00:00:00.000000001Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }
    response = await ingest.client.post(
        "/ingest/alertmanager", json={"version": "4", "alerts": [alert]}, headers=AM_AUTH
    )
    assert response.status == 200, await response.text()
    (stored,) = await ingest.stored()
    assert stored.starts_at == datetime(1, 1, 1, tzinfo=UTC)
    assert stored.ends_at is None  # the exact zero instant is Go's "no end"


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("2026-11-27T15:00:00Z", 0),
        ("2026-11-27T15:00:00.5Z", 0),
        ("2026-11-27T15:00:00.123456789Z", 789),
        ("2026-11-27T15:00:00.1234567+02:00", 700),
    ],
)
def test_the_nanoseconds_cut_are_returned(text: str, nanoseconds: int) -> None:
    assert parse_rfc3339_ns(text)[1] == nanoseconds


def test_only_the_exact_zero_instant_is_absent() -> None:
    assert parse_rfc3339("0001-01-01T00:00:00Z") is None
    assert parse_rfc3339("0001-01-01T00:00:00.000000001Z") == datetime(1, 1, 1, tzinfo=UTC)


async def test_a_415_names_content_type(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/ingest/webhook", data=b"{}", headers={**HOOK_AUTH, "Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await response.json())["field"] == "Content-Type"


async def test_a_413_names_the_body(ingest: Ingest) -> None:
    # The harness allows 64 KiB.
    big = [{"summary": "x" * 1000, "labels": {"alertname": "a"}}] * 100
    response = await ingest.client.post("/ingest/webhook", json=big, headers=HOOK_AUTH)
    assert response.status == 413
    assert (await response.json())["field"] in ("Content-Length", "body")


async def test_an_unknown_path_and_method_are_json_naming_them(ingest: Ingest) -> None:
    missing = await ingest.client.get("/no/such/thing")
    assert missing.status == 404
    assert (await missing.json())["field"] == "path"
    wrong = await ingest.client.get("/ingest/webhook", headers=HOOK_AUTH)
    assert wrong.status == 405
    assert (await wrong.json())["field"] == "method"


async def test_an_unknown_heartbeat_names_name(ingest: Ingest) -> None:
    response = await ingest.client.post("/ingest/heartbeat/nope", headers=HOOK_AUTH)
    assert response.status == 404
    assert (await response.json())["field"] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (None, ""),
        ([1, 2], ""),
        ("key", ""),
        ({"routing_key": 5}, "routing_key"),
        ({"routing_key": None, "event_action": "trigger"}, "routing_key"),
        ({"event_action": "trigger"}, "routing_key"),
    ],
)
async def test_enqueue_answers_400_to_a_body_without_a_usable_routing_key(
    ingest: Ingest, body: Any, field: str
) -> None:
    response = await ingest.client.post(
        "/v2/enqueue", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    answer = await response.json()
    assert answer["status"] == "invalid event"
    assert answer["problems"][0]["field"] == field


async def test_enqueue_answers_401_only_to_a_well_formed_unknown_key(ingest: Ingest) -> None:
    response = await ingest.client.post("/v2/enqueue", json={**trigger(), "routing_key": "f" * 32})
    assert response.status == 401
