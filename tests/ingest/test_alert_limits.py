"""Item 20: label names, label values, annotation values and whole alerts have size limits.

An alert over a limit is refused with a 400 naming its index and field; the valid alerts
of the same batch are stored. Limits count UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from ingest.decode.fields import AlertLimits, ItemChecker
from tests.app_harness import AM_AUTH, ENV, PROM_AUTH, START, Ingest
from tests.ingest.edge_app import ClientFactory, edge_app
from tests.ingest.payloads import webhook
from tocsin.app import create_app

KIB = 1024
GOOD = {"labels": {"alertname": "Good"}}


@pytest.fixture
async def ingest(aiohttp_client: ClientFactory, make_settings: Callable[..., Settings]) -> Ingest:
    """The harness application with a body limit large enough for oversized alerts."""
    clock = ManualClock(START)
    registry = CollectorRegistry()
    settings = make_settings(max_body_bytes=16 * KIB * KIB, correlate=False)
    app = create_app(settings, clock=clock, registry=registry, env=ENV)
    return Ingest(await aiohttp_client(app), clock, registry)


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        # The attack: a 3 MB alertname would become a 3 MB incident title.
        ({"labels": {"alertname": "x" * 3_000_000}}, "labels.alertname"),
        # 16 KiB + 1 byte, in two-byte characters: bytes count, not characters.
        ({"labels": {"alertname": "A", "note": "é" * (8 * KIB) + "x"}}, "labels.note"),
        # A label name over 1 KiB; the answer does not echo it whole.
        ({"labels": {"alertname": "A", "n" * (KIB + 1): "v"}}, "labels"),
        ({"labels": {"alertname": "A"}, "annotations": {"description": "d" * (64 * KIB + 1)}},
         "annotations.description"),
        # Each part within its limit, the whole over 512 KiB.
        ({"labels": {"alertname": "A"},
          "annotations": {f"a{i}": "d" * (60 * KIB) for i in range(9)}}, ""),
    ],
)  # fmt: skip
async def test_oversized_alert_is_400_naming_the_field_and_the_rest_is_stored(
    ingest: Ingest, alert: dict[str, object], field: str
) -> None:
    response = await ingest.client.post("/api/v2/alerts", json=[GOOD, alert], headers=PROM_AUTH)
    assert response.status == 400
    body = await response.json()
    assert body["accepted"] == 1
    [problem] = body["problems"]
    assert (problem["index"], problem["field"]) == (1, field)
    assert len(str(body)) < 2_000  # nothing of the sender's megabytes comes back
    [stored] = await ingest.stored()
    assert stored.labels == {"alertname": "Good"}


async def test_limits_at_their_bound_are_accepted(ingest: Ingest) -> None:
    alert = {
        "labels": {"alertname": "A", "n" * KIB: "v" * (16 * KIB)},
        "annotations": {"description": "d" * (64 * KIB)},
    }
    response = await ingest.client.post("/api/v2/alerts", json=[alert], headers=PROM_AUTH)
    assert response.status == 200


async def test_webhook_and_alertmanager_payloads_are_limited_too(ingest: Ingest) -> None:
    def firing(alertname: str) -> dict[str, object]:
        return {"status": "firing", "labels": {"alertname": alertname},
                "startsAt": "2026-11-27T15:09:11Z", "endsAt": "0001-01-01T00:00:00Z"}  # fmt: skip

    body = webhook([firing("ok"), firing("y" * (16 * KIB + 1))])
    response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "labels.alertname"
    assert len(await ingest.stored()) == 1


async def test_pagerduty_custom_details_are_held_to_the_annotation_limit(ingest: Ingest) -> None:
    event = {
        "routing_key": "0123456789abcdef0123456789abcdef",
        "event_action": "trigger",
        "payload": {
            "summary": "s",
            "source": "db1",
            "severity": "error",
            "custom_details": {"dump": "z" * (64 * KIB)},
        },
    }
    response = await ingest.client.post("/v2/enqueue", json=event)
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "payload.custom_details"


RULES = """
sources:
  - name: prom
    kind: alertmanager_api
    auth: {bearer_token: {env: TOKEN}}
"""


async def test_limits_are_settings(tmp_path: Path, aiohttp_client: ClientFactory) -> None:
    app = await edge_app(tmp_path, aiohttp_client, RULES, {"TOKEN": "t"}, max_label_value_bytes=8)
    response = await app.client.post(
        "/api/v2/alerts",
        json=[{"labels": {"alertname": "TooLong99"}}, {"labels": {"alertname": "Fits8ok"}}],
        headers={"Authorization": "Bearer t"},
    )
    assert response.status == 400
    assert [a.labels["alertname"] for a in await app.stored()] == ["Fits8ok"]


def test_checker_judges_bytes_without_encoding_short_text() -> None:
    problems: list[object] = []
    check = ItemChecker(0, problems, AlertLimits(label_value=4))  # type: ignore[arg-type]
    assert check.string_map({"a": "éé"}, "labels", label_names=True) == {"a": "éé"}
    assert check.string_map({"a": "ééé"}, "labels", label_names=True) is None
