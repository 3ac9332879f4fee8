"""POST /api/v2/alerts: Alertmanager's own API, with its defaults for missing times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.model import AlertStatus
from core.timestamps import format_rfc3339
from tests.app_harness import PROM_AUTH, START, Ingest
from tests.ingest.payloads import ALWAYS_FIRING_FINGERPRINT, PROMETHEUS_FIRING


async def test_prometheus_batch_is_stored_firing_with_its_end_time(ingest: Ingest) -> None:
    response = await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    assert response.status == 200
    [alert] = await ingest.stored()
    assert alert.fingerprint == ALWAYS_FIRING_FINGERPRINT
    assert alert.status is AlertStatus.FIRING
    assert alert.ends_at is not None
    assert alert.ends_at > START


@pytest.mark.parametrize(
    ("starts", "ends", "want_status", "want_starts"),
    [
        # Neither time: starts now, fires until resolve_timeout (5m) after receipt.
        (None, None, AlertStatus.FIRING, START),
        # Only an end in the past: Alertmanager takes it as the start too, and it is resolved.
        (None, START - timedelta(minutes=1), AlertStatus.RESOLVED, START - timedelta(minutes=1)),
        # End exactly now counts as resolved (endsAt is not after now).
        (START - timedelta(minutes=5), START, AlertStatus.RESOLVED, START - timedelta(minutes=5)),
        # End in the future: still firing.
        (
            START - timedelta(minutes=5),
            START + timedelta(minutes=4),
            AlertStatus.FIRING,
            START - timedelta(minutes=5),
        ),
    ],
)
async def test_missing_times_get_alertmanagers_defaults(
    ingest: Ingest, starts: object, ends: object, want_status: AlertStatus, want_starts: object
) -> None:
    alert: dict[str, object] = {"labels": {"alertname": "X"}}
    if starts is not None:
        alert["startsAt"] = format_rfc3339(starts)  # type: ignore[arg-type]
    if ends is not None:
        alert["endsAt"] = format_rfc3339(ends)  # type: ignore[arg-type]
    response = await ingest.client.post("/api/v2/alerts", json=[alert], headers=PROM_AUTH)
    assert response.status == 200
    [stored] = await ingest.stored()
    assert stored.status is want_status
    assert stored.starts_at == want_starts


@pytest.mark.parametrize(
    ("alert", "field", "reason_part"),
    [
        # No labels at all.
        ({"labels": {}}, "labels", "at least one label"),
        # A label name Prometheus would never produce.
        ({"labels": {"bad-name": "x"}}, "labels.bad-name", "invalid name"),
        # A label value that is not a string.
        ({"labels": {"alertname": 1}}, "labels.alertname", "must be a string"),
        # A timestamp that is not RFC 3339.
        ({"labels": {"a": "b"}, "startsAt": "yesterday"}, "startsAt", "RFC 3339"),
        # A timestamp without an offset.
        ({"labels": {"a": "b"}, "endsAt": "2026-11-27T15:00:00"}, "endsAt", "offset"),
        # End before start.
        (
            {
                "labels": {"a": "b"},
                "startsAt": "2026-11-27T15:00:00Z",
                "endsAt": "2026-11-27T14:00:00Z",
            },
            "endsAt",
            "before startsAt",
        ),
        # generatorURL of the wrong type.
        ({"labels": {"a": "b"}, "generatorURL": 5}, "generatorURL", "string"),
    ],
)
async def test_invalid_alert_is_reported_and_the_valid_neighbours_are_stored(
    ingest: Ingest, alert: dict[str, object], field: str, reason_part: str
) -> None:
    batch = [{"labels": {"alertname": "Good1"}}, alert, {"labels": {"alertname": "Good2"}}]
    response = await ingest.client.post("/api/v2/alerts", json=batch, headers=PROM_AUTH)
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert problem["index"] == 1
    assert problem["field"] == field
    assert reason_part in problem["reason"]
    assert sorted(a.labels["alertname"] for a in await ingest.stored()) == ["Good1", "Good2"]


async def test_body_that_is_not_a_list_is_rejected(ingest: Ingest) -> None:
    response = await ingest.client.post("/api/v2/alerts", json={"labels": {}}, headers=PROM_AUTH)
    assert response.status == 400
    assert (await response.json())["problems"] == [
        {"index": None, "field": "", "reason": "body must be a JSON list of alerts"}
    ]


async def test_item_that_is_not_an_object_is_named(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/api/v2/alerts", json=["x", {"labels": {"a": "b"}}], headers=PROM_AUTH
    )
    assert response.status == 400
    assert (await response.json())["problems"][0]["index"] == 0
    assert len(await ingest.stored()) == 1
