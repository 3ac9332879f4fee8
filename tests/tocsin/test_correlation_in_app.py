"""`tocsin serve` correlates in the background: an ingested alert becomes an incident."""

from __future__ import annotations

from core.incident import Incident
from core.store import IncidentQuery
from tests.app_harness import AM_AUTH, Ingest
from tests.ingest.payloads import A1_FIRING
from tests.support import poll_until
from tocsin.keys import STORE


async def test_ingested_group_becomes_one_incident(ingest: Ingest) -> None:
    response = await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert response.status == 200
    store = ingest.client.app[STORE]

    async def incident_with_both_alerts() -> Incident | None:
        # The correlator task runs beside the request handlers; wait for its commit.
        incidents = await store.list_incidents(IncidentQuery())
        if len(incidents) == 1 and len(incidents[0].alerts) == 2:
            return incidents[0]
        return None

    incident = await poll_until(incident_with_both_alerts, deadline_seconds=10, interval=0.02)
    assert incident.group_key == '{}:{alertname="DiskFull"}'

    async def entries_counted() -> float | None:
        # The correlator counts its entries just after its commit lands: poll for it too.
        counted = ingest.metric("tocsin_correlator_entries_total")
        return counted if counted >= 2 else None

    assert await poll_until(entries_counted, deadline_seconds=10, interval=0.02) >= 2
