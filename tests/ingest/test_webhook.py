"""POST /ingest/webhook: Tocsin's generic JSON format, one object or a list."""

from __future__ import annotations

import pytest

from core.fingerprint import dedup_key_fingerprint, labels_fingerprint
from core.model import AlertStatus
from tests.app_harness import HOOK_AUTH, START, Ingest


async def test_single_object_with_dedup_key_is_stored(ingest: Ingest) -> None:
    body = {
        "dedup_key": "backup-db1",
        "summary": "Nightly backup failed",
        "severity": "critical",
        "labels": {"service": "db"},
        "source_url": "https://ci.example/job/42",
    }
    response = await ingest.client.post("/ingest/webhook", json=body, headers=HOOK_AUTH)
    assert response.status == 200
    [alert] = await ingest.stored()
    assert alert.fingerprint == dedup_key_fingerprint("hooks", "backup-db1")
    assert alert.dedup_key == "backup-db1"
    assert alert.labels == {"service": "db", "severity": "critical"}
    assert alert.annotations == {"summary": "Nightly backup failed"}
    assert alert.generator_url == "https://ci.example/job/42"
    assert alert.status is AlertStatus.FIRING
    assert alert.starts_at == START


async def test_without_dedup_key_labels_give_alertmanagers_fingerprint(ingest: Ingest) -> None:
    body = [{"summary": "s", "labels": {"alertname": "CronMissed"}}]
    await ingest.client.post("/ingest/webhook", json=body, headers=HOOK_AUTH)
    [alert] = await ingest.stored()
    # Severity defaults to warning and is a label, as in Prometheus rules.
    assert alert.fingerprint == labels_fingerprint(
        {"alertname": "CronMissed", "severity": "warning"}
    )


async def test_resolve_by_dedup_key_hits_the_same_fingerprint_and_ends_now(ingest: Ingest) -> None:
    await ingest.client.post(
        "/ingest/webhook", json={"dedup_key": "k", "summary": "s"}, headers=HOOK_AUTH
    )
    await ingest.client.post(
        "/ingest/webhook",
        json={"dedup_key": "k", "summary": "s", "status": "resolved"},
        headers=HOOK_AUTH,
    )
    first, second = await ingest.stored()
    assert first.fingerprint == second.fingerprint
    assert second.status is AlertStatus.RESOLVED
    assert second.ends_at == START


@pytest.mark.parametrize(
    ("item", "field"),
    [
        # Nothing says what is wrong.
        ({"dedup_key": "k"}, "summary"),
        # Nothing identifies the alert.
        ({"summary": "s"}, "labels"),
        # A severity outside the four levels.
        ({"dedup_key": "k", "summary": "s", "severity": "fatal"}, "severity"),
        # A status outside the two states.
        ({"dedup_key": "k", "summary": "s", "status": "ok"}, "status"),
        # A misspelt field is an error, not silently dropped.
        ({"dedup_key": "k", "summary": "s", "sevrity": "critical"}, "sevrity"),
        # A dedup key longer than PagerDuty's 255 characters.
        ({"dedup_key": "k" * 256, "summary": "s"}, "dedup_key"),
        # End before start.
        (
            {
                "dedup_key": "k",
                "summary": "s",
                "starts_at": "2026-11-27T10:00:00Z",
                "ends_at": "2026-11-27T09:00:00Z",
            },
            "ends_at",
        ),
    ],
)
async def test_invalid_item_in_a_list_is_named_and_the_rest_stored(
    ingest: Ingest, item: dict[str, object], field: str
) -> None:
    batch = [{"dedup_key": "ok", "summary": "fine"}, item]
    response = await ingest.client.post("/ingest/webhook", json=batch, headers=HOOK_AUTH)
    assert response.status == 400
    problems = (await response.json())["problems"]
    assert [(p["index"], p["field"]) for p in problems] == [(1, field)]
    assert [a.dedup_key for a in await ingest.stored()] == ["ok"]


async def test_invalid_single_object_names_the_field_without_index(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/ingest/webhook", json={"dedup_key": "k"}, headers=HOOK_AUTH
    )
    assert response.status == 400
    assert (await response.json())["problems"] == [
        {"index": None, "field": "summary", "reason": "is required (or annotations.summary)"}
    ]
