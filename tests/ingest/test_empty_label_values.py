"""A label with an empty value is no label, as in Prometheus and Alertmanager.

Alertmanager drops such labels from what it is sent, so ``{alertname="EV", x=""}`` and
``{alertname="EV"}`` are one alert with one fingerprint; Tocsin kept ``x=""`` and made
them two alerts, with a fingerprint Alertmanager never gives.
"""

from __future__ import annotations

import pytest

from core.fingerprint import labels_fingerprint
from tests.app_harness import HOOK_AUTH, PROM_AUTH, Ingest

LABELS = {"alertname": "EV", "x": "", "job": "node"}
SENDS = [
    # Alertmanager's API, as Prometheus posts.
    ("/api/v2/alerts", PROM_AUTH, [{"labels": LABELS}]),
    # Tocsin's generic webhook.
    ("/ingest/webhook", HOOK_AUTH, {"labels": LABELS, "summary": "empty label"}),
]


@pytest.mark.parametrize(("path", "auth", "body"), SENDS)
async def test_an_empty_label_is_dropped(
    ingest: Ingest, path: str, auth: dict[str, str], body: object
) -> None:
    response = await ingest.client.post(path, json=body, headers=auth)

    assert response.status in (200, 202), await response.text()
    [alert] = await ingest.stored()
    assert "x" not in alert.labels
    assert {"alertname": "EV", "job": "node"}.items() <= alert.labels.items()


async def test_the_fingerprint_is_the_one_alertmanager_gives(ingest: Ingest) -> None:
    await ingest.client.post("/api/v2/alerts", json=[{"labels": LABELS}], headers=PROM_AUTH)

    [alert] = await ingest.stored()
    assert alert.fingerprint == labels_fingerprint({"alertname": "EV", "job": "node"})


async def test_with_and_without_the_empty_label_it_is_one_alert(ingest: Ingest) -> None:
    for labels in ({"alertname": "EV", "x": ""}, {"alertname": "EV"}):
        response = await ingest.client.post(
            "/api/v2/alerts", json=[{"labels": labels}], headers=PROM_AUTH
        )
        assert response.status == 200

    fingerprints = {alert.fingerprint for alert in await ingest.stored()}
    assert fingerprints == {labels_fingerprint({"alertname": "EV"})}
