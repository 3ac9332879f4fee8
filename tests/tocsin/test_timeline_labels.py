"""New-user report item 7: the operator API gives each alert a timeline event names its labels.

The store keeps an alert's event by fingerprint only (labels never change, and a storm
would store them twice); the API adds the labels, as it does for ``alerts_joined``.
"""

from __future__ import annotations

from typing import Any

from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState
from core.model import AlertStatus
from core.store import IncidentQuery
from rules.priority import additive_matrix
from tests.app_harness import AM_AUTH, START, VIEWER, Ingest
from tests.ingest.payloads import A1_FIRING, A2_MIXED, DB1, DB1_FINGERPRINT
from tests.support import poll_until
from tocsin.keys import STORE
from tocsin.operator.render import incident_detail


async def test_alert_resolved_names_the_alert_labels(ingest: Ingest) -> None:
    for body in (A1_FIRING, A2_MIXED):  # db1 resolves while db2 still fires
        response = await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
        assert response.status == 200
    store = ingest.client.app[STORE]

    async def db1_resolved() -> str | None:
        incidents = await store.list_incidents(IncidentQuery())
        db1 = None if len(incidents) != 1 else incidents[0].alerts.get(DB1_FINGERPRINT)
        return incidents[0].id if db1 is not None and db1.status is AlertStatus.RESOLVED else None

    incident_id = await poll_until(db1_resolved, deadline_seconds=10, interval=0.02)
    response = await ingest.client.get(f"/api/v1/incidents/{incident_id}", headers=VIEWER)
    timeline: list[dict[str, Any]] = (await response.json())["timeline"]
    [resolved] = [e for e in timeline if e["kind"] == "alert_resolved"]
    assert resolved["detail"] == {"fingerprint": DB1_FINGERPRINT, "labels": DB1}


def test_mute_events_list_each_alert_with_its_labels() -> None:
    alert = IncidentAlert(
        fingerprint="f1",
        labels={"alertname": "DiskFull", "instance": "db1"},
        status=AlertStatus.FIRING,
        first_seen=START,
        last_seen=START,
        count=1,
        position="1-0",
    )
    incident = Incident("i1", "g", "DiskFull", IncidentState.TRIGGERED, START, {"f1": alert})
    events = [
        IncidentEvent("i1", START, "tocsin", "alert_expired", {"fingerprint": "f1", "reason": "r"}),
        IncidentEvent(
            "i1", START, "tocsin", "unmuted", {"reason": "r", "fingerprints": ["f1"], "count": 1}
        ),
    ]
    matrix = additive_matrix(("high", "medium", "low"), ("high", "medium", "low"))
    expired, unmuted = incident_detail(incident, [alert], events, matrix)["timeline"]
    assert expired["detail"]["labels"] == {"alertname": "DiskFull", "instance": "db1"}
    assert unmuted["detail"]["alerts"] == [
        {"fingerprint": "f1", "labels": {"alertname": "DiskFull", "instance": "db1"}}
    ]
