"""/-/healthy, /-/ready and /metrics."""

from __future__ import annotations

from tests.app_harness import PROM_AUTH, Ingest
from tests.ingest.payloads import PROMETHEUS_FIRING
from tocsin.keys import STORE


async def test_healthy_answers_200(ingest: Ingest) -> None:
    response = await ingest.client.get("/-/healthy")
    assert response.status == 200


async def test_ready_follows_the_store(ingest: Ingest) -> None:
    assert (await ingest.client.get("/-/ready")).status == 200
    await ingest.client.app[STORE].close()
    response = await ingest.client.get("/-/ready")
    assert response.status == 503
    assert (await response.json())["status"] == "not ready"


async def test_metrics_expose_ingest_counters_and_request_latency(ingest: Ingest) -> None:
    await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    response = await ingest.client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert 'tocsin_alerts_received_total{source="prom"} 2.0' in text
    assert 'tocsin_alerts_stored_total{source="prom"} 1.0' in text
    assert 'tocsin_alerts_deduplicated_total{source="prom"} 1.0' in text
    assert (
        'tocsin_http_request_duration_seconds_count{code="200",method="POST",route="/api/v2/alerts"} 2.0'
        in text
    )


async def test_unknown_path_gets_a_json_404_and_wrong_method_a_405(ingest: Ingest) -> None:
    missing = await ingest.client.get("/nope")
    assert missing.status == 404
    assert (await missing.json())["code"] == 404
    # GET /api/v2/alerts is Alertmanager's read side now (tocsin.amapi); PUT is no method.
    wrong = await ingest.client.put("/api/v2/alerts")
    assert wrong.status == 405
    # No HEAD: as Alertmanager, and a HEAD would render every open alert for nothing.
    assert set(wrong.headers["Allow"].split(",")) == {"GET", "POST"}
