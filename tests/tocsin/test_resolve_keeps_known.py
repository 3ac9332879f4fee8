"""New-user report items 2 and 10 over HTTP: a resolve keeps the start and annotations it lacks.

A webhook resolve without ``starts_at`` and a PagerDuty resolve carry no start of their
own (ingest gives them their receipt), and the PagerDuty resolve no annotations: the
alert's detail keeps the start and annotations of the firing alert, as Alertmanager
merges a resolve, and shows the sender's ``dedup_key``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from tests.app_harness import ENV, HOOK_AUTH, START, VIEWER, Ingest
from tests.support import poll_until
from tocsin.keys import STORE


async def _resolved_alert(ingest: Ingest) -> dict[str, Any]:
    """Waits for the correlator to apply the resolve; the one alert's detail."""
    store = ingest.client.app[STORE]

    async def resolved() -> str | None:
        incidents = await store.list_incidents(IncidentQuery())
        if len(incidents) != 1:
            return None
        [alert] = incidents[0].alerts.values()
        return incidents[0].id if alert.status.value == "resolved" else None

    incident_id = await poll_until(resolved, deadline_seconds=10, interval=0.02)
    response = await ingest.client.get(f"/api/v1/incidents/{incident_id}", headers=VIEWER)
    assert response.status == 200
    [alert] = (await response.json())["alerts"]
    assert isinstance(alert, dict)
    return alert


async def _post(ingest: Ingest, path: str, body: dict[str, Any], **headers: str) -> None:
    response = await ingest.client.post(path, json=body, headers=headers)
    assert response.status in (200, 202), await response.text()


async def test_the_readme_webhook_resolve_keeps_the_trigger_start(ingest: Ingest) -> None:
    fired = {
        "dedup_key": "backup-db1",
        "summary": "Nightly backup failed",
        "severity": "critical",
        "labels": {"service": "db"},
    }
    await _post(ingest, "/ingest/webhook", fired, **HOOK_AUTH)
    ingest.clock.advance(timedelta(seconds=8))
    # The README's resolve: no starts_at (ingest gives it its receipt).
    resolve = {"dedup_key": "backup-db1", "summary": "Nightly backup failed", "status": "resolved"}
    await _post(ingest, "/ingest/webhook", resolve, **HOOK_AUTH)
    alert = await _resolved_alert(ingest)
    # The start the trigger got (its receipt), not the resolve's; the end is the resolve's.
    assert alert["starts_at"] == format_rfc3339(START)
    assert alert["ends_at"] == format_rfc3339(START + timedelta(seconds=8))
    assert alert["dedup_key"] == "backup-db1"


async def test_a_webhook_resolve_without_a_start_keeps_the_trigger_start(ingest: Ingest) -> None:
    fired = {
        "dedup_key": "backup-db1",
        "summary": "Nightly backup failed",
        "starts_at": "2026-11-27T15:03:17Z",
        "labels": {"service": "db"},
    }
    await _post(ingest, "/ingest/webhook", fired, **HOOK_AUTH)
    ingest.clock.advance(timedelta(seconds=8))
    resolve = {"dedup_key": "backup-db1", "summary": "Nightly backup failed", "status": "resolved"}
    await _post(ingest, "/ingest/webhook", resolve, **HOOK_AUTH)
    alert = await _resolved_alert(ingest)
    assert alert["starts_at"] == "2026-11-27T15:03:17Z"
    assert alert["ends_at"] == format_rfc3339(START + timedelta(seconds=8))


async def test_a_pagerduty_resolve_keeps_start_and_summary_and_shows_the_dedup_key(
    ingest: Ingest,
) -> None:
    trigger = {
        "routing_key": ENV["PD_KEY"],
        "event_action": "trigger",
        "dedup_key": "db1-latency",
        "payload": {"summary": "DB latency high", "source": "db1", "severity": "critical"},
    }
    await _post(ingest, "/v2/enqueue", trigger)
    ingest.clock.advance(timedelta(minutes=3))
    resolve = {"routing_key": ENV["PD_KEY"], "event_action": "resolve", "dedup_key": "db1-latency"}
    await _post(ingest, "/v2/enqueue", resolve)
    alert = await _resolved_alert(ingest)
    assert alert["starts_at"] == format_rfc3339(START)
    assert alert["ends_at"] == format_rfc3339(START + timedelta(minutes=3))
    assert alert["annotations"]["summary"] == "DB latency high"
    assert alert["dedup_key"] == "db1-latency"
