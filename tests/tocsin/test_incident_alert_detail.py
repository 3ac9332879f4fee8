"""Issue 9 item 5: an incident's alerts carry what their source said and when Tocsin got them."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from tests.app_harness import AM_AUTH, START, VIEWER, Ingest
from tests.ingest.payloads import A1_FIRING, DB1_FINGERPRINT, DB2_FINGERPRINT
from tests.support import poll_until
from tocsin.keys import STORE


async def _detail(ingest: Ingest, wanted_count: int) -> dict[str, Any]:
    """Waits for the correlator to have applied ``wanted_count`` reports of db1; its detail."""
    store = ingest.client.app[STORE]

    async def applied() -> str | None:
        incidents = await store.list_incidents(IncidentQuery())
        if len(incidents) != 1:
            return None
        db1 = incidents[0].alerts.get(DB1_FINGERPRINT)
        return incidents[0].id if db1 is not None and db1.count == wanted_count else None

    incident_id = await poll_until(applied, deadline_seconds=10, interval=0.02)
    response = await ingest.client.get(f"/api/v1/incidents/{incident_id}", headers=VIEWER)
    assert response.status == 200
    detail: dict[str, Any] = await response.json()
    return detail


async def test_alerts_carry_annotations_source_times_and_receipts(ingest: Ingest) -> None:
    assert (
        await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    ).status == 200
    first = await _detail(ingest, 1)
    alerts = {a["fingerprint"]: a for a in first["alerts"]}
    db1 = alerts[DB1_FINGERPRINT]
    assert db1["annotations"] == {
        "runbook_url": "https://runbooks.example/disk",
        "summary": "Disk almost full on db1",
    }
    assert db1["generator_url"] == "http://prometheus.example/graph?g0.expr=disk"
    # The source's start, not Tocsin's: Alertmanager said 15:09:11, Tocsin got it at 15:12.
    assert db1["starts_at"].startswith("2026-11-27T15:09:11.543058")
    assert db1["first_received_at"] == format_rfc3339(START)
    assert db1["last_received_at"] == format_rfc3339(START)
    assert db1["ends_at"] is None
    assert "first_seen" not in db1
    assert "last_seen" not in db1
    assert alerts[DB2_FINGERPRINT]["annotations"] == {"summary": "Disk almost full on db2"}

    # Two minutes later the source resends db1 with a changed annotation.
    ingest.clock.advance(timedelta(minutes=2))
    resent = copy.deepcopy(A1_FIRING)
    resent["alerts"][0]["annotations"]["summary"] = "Disk full on db1"
    assert (
        await ingest.client.post("/ingest/alertmanager", json=resent, headers=AM_AUTH)
    ).status == 200
    later = await _detail(ingest, 2)
    db1 = next(a for a in later["alerts"] if a["fingerprint"] == DB1_FINGERPRINT)
    # The latest report's annotations; first and latest receipt apart.
    assert db1["annotations"]["summary"] == "Disk full on db1"
    assert db1["first_received_at"] == format_rfc3339(START)
    assert db1["last_received_at"] == format_rfc3339(START + timedelta(minutes=2))
    assert db1["starts_at"].startswith("2026-11-27T15:09:11.543058")


async def test_impact_and_urgency_are_named_as_in_the_rules(ingest: Ingest) -> None:
    assert (
        await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    ).status == 200
    detail = await _detail(ingest, 1)
    # The test rules set no priority section: ITIL's 3x3 matrix, defaults low/low -> P5.
    assert (detail["impact"], detail["urgency"], detail["priority"]) == ("low", "low", "P5")
    listing = await (await ingest.client.get("/api/v1/incidents", headers=VIEWER)).json()
    assert (listing["incidents"][0]["impact"], listing["incidents"][0]["urgency"]) == (
        "low",
        "low",
    )
