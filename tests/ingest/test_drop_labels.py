"""HA pairs: a source's ``drop_labels`` removes labels before the fingerprint.

Two Prometheus replicas that differ only in ``replica`` send one alert, which makes one
incident with one alert, as ``alert_relabel_configs`` with ``labeldrop`` does upstream.
"""

from __future__ import annotations

from pathlib import Path

from core.fingerprint import labels_fingerprint
from core.incident import Incident
from core.store import IncidentQuery
from tests.ingest.edge_app import ClientFactory, edge_app
from tests.support import poll_until
from tocsin.keys import STORE

RULES = """
sources:
  - name: prometheus
    kind: alertmanager_api
    auth: {bearer_token: {env: TOKEN}}
    drop_labels: [replica]
  - name: scripts
    kind: webhook
    auth: {bearer_token: {env: TOKEN2}}
    drop_labels: [replica]
"""
ENV = {"TOKEN": "t", "TOKEN2": "t2"}
LABELS = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"}


def from_replica(replica: str) -> dict[str, object]:
    return {
        "labels": {**LABELS, "replica": replica},
        "annotations": {"summary": "Disk almost full on db1"},
        "startsAt": "2026-11-27T15:11:02.568Z",
        "endsAt": "2026-11-27T16:16:03.568Z",
    }


async def test_replicas_make_one_alert_and_one_incident(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await edge_app(
        tmp_path, aiohttp_client, RULES, ENV, correlate=True, correlator_mode="inline"
    )
    for replica in ("a", "b"):
        response = await app.client.post(
            "/api/v2/alerts", json=[from_replica(replica)], headers={"Authorization": "Bearer t"}
        )
        assert response.status == 200
    first, *rest = await app.stored()
    assert first.labels == LABELS
    assert first.fingerprint == labels_fingerprint(LABELS)
    # The second replica's copy is the same alert: a duplicate, not written again.
    assert rest == []
    store = app.client.app[STORE]

    async def one_incident() -> Incident | None:
        incidents = await store.list_incidents(IncidentQuery())
        return incidents[0] if len(incidents) == 1 and incidents[0].alerts else None

    incident = await poll_until(one_incident, deadline_seconds=10, interval=0.02)
    assert list(incident.alerts) == [labels_fingerprint(LABELS)]


async def test_a_dedup_key_keeps_its_fingerprint_when_labels_drop(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await edge_app(tmp_path, aiohttp_client, RULES, ENV)
    body = {"dedup_key": "backup", "summary": "s", "labels": {"replica": "a", "job": "b"}}
    response = await app.client.post(
        "/ingest/webhook", json=body, headers={"Authorization": "Bearer t2"}
    )
    assert response.status == 200
    [alert] = await app.stored()
    assert alert.labels == {"job": "b", "severity": "warning"}
    assert alert.dedup_key == "backup"
