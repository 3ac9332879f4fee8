"""POST /ingest/alertmanager: Alertmanager's webhook, version 4, every field of the reference."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from core.model import AlertStatus
from tests.app_harness import AM_AUTH, Ingest
from tests.ingest.payloads import A1_FIRING, A2_MIXED, DB1_FINGERPRINT, DB2_FINGERPRINT, webhook


async def test_firing_group_is_stored_with_alertmanagers_fingerprints(ingest: Ingest) -> None:
    response = await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert response.status == 200
    assert await response.json() == {"status": "success", "stored": 2, "deduplicated": 0}
    stored = await ingest.stored()
    assert [a.fingerprint for a in stored] == [DB1_FINGERPRINT, DB2_FINGERPRINT]
    assert all(a.status is AlertStatus.FIRING and a.source == "am" for a in stored)


async def test_zero_ends_at_means_no_end_and_nanoseconds_are_cut_to_microseconds(
    ingest: Ingest,
) -> None:
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    first = (await ingest.stored())[0]
    assert first.ends_at is None
    assert first.starts_at == datetime(2026, 11, 27, 15, 9, 11, 543058, tzinfo=UTC)
    assert first.annotations["runbook_url"] == "https://runbooks.example/disk"
    assert first.generator_url == "http://prometheus.example/graph?g0.expr=disk"


async def test_mixed_group_stores_the_resolve_and_skips_the_unchanged_firing_alert(
    ingest: Ingest,
) -> None:
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    response = await ingest.client.post("/ingest/alertmanager", json=A2_MIXED, headers=AM_AUTH)
    assert await response.json() == {"status": "success", "stored": 1, "deduplicated": 1}
    resolved = (await ingest.stored())[-1]
    assert resolved.fingerprint == DB1_FINGERPRINT
    assert resolved.status is AlertStatus.RESOLVED
    # Millisecond precision of a resolved endsAt is kept.
    assert resolved.ends_at == datetime(2026, 11, 27, 15, 9, 19, 895000, tzinfo=UTC)


async def test_newer_optional_fields_are_accepted(ingest: Ingest) -> None:
    body = copy.deepcopy(A1_FIRING)
    body["notification_reason"] = "first notification"  # Alertmanager 0.32+
    body["routeLabels"] = {"team": "db"}  # Alertmanager 0.34+
    response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
    assert response.status == 200
    assert len(await ingest.stored()) == 2


async def test_bad_alert_is_named_by_index_and_field_while_the_good_one_is_stored(
    ingest: Ingest,
) -> None:
    body = copy.deepcopy(A1_FIRING)
    body["alerts"][0]["status"] = "burning"
    response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
    assert response.status == 400
    answer = await response.json()
    assert answer["problems"] == [
        {"index": 0, "field": "status", "reason": 'must be "firing" or "resolved"'}
    ]
    assert answer["accepted"] == 1
    assert [a.fingerprint for a in await ingest.stored()] == [DB2_FINGERPRINT]


async def test_resolved_alert_without_end_time_is_rejected(ingest: Ingest) -> None:
    body = webhook([{**A1_FIRING["alerts"][0], "status": "resolved"}])
    response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "endsAt"


async def test_unsupported_version_is_rejected(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/ingest/alertmanager", json=webhook([], version="3"), headers=AM_AUTH
    )
    assert response.status == 400
    assert (await response.json())["problems"][0]["field"] == "version"
