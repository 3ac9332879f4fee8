"""Duplicates are recognised in memory; nothing is acknowledged that is not durable."""

from __future__ import annotations

import copy
from datetime import timedelta

from tests.app_harness import AM_AUTH, PROM_AUTH, Ingest
from tests.ingest.payloads import A1_FIRING, PROMETHEUS_FIRING
from tocsin.keys import STORE


async def test_unchanged_resend_is_acknowledged_but_not_written_again(ingest: Ingest) -> None:
    for _ in range(3):
        response = await ingest.client.post(
            "/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH
        )
        assert response.status == 200
    assert len(await ingest.stored()) == 1
    assert ingest.metric("tocsin_alerts_deduplicated_total", source="prom") == 2
    assert ingest.metric("tocsin_alerts_accepted_total", source="prom") == 3


async def test_unchanged_alert_is_refreshed_three_quarters_of_the_way_to_its_end(
    ingest: Ingest,
) -> None:
    # endsAt is 243.568 s after the clock's start: the refresh falls due after 182.676 s.
    await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    ingest.clock.advance(timedelta(seconds=182))
    await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    assert len(await ingest.stored()) == 1
    ingest.clock.advance(timedelta(seconds=1))
    await ingest.client.post("/api/v2/alerts", json=PROMETHEUS_FIRING, headers=PROM_AUTH)
    assert len(await ingest.stored()) == 2


async def test_unchanged_alert_without_end_is_refreshed_after_the_refresh_interval(
    ingest: Ingest,
) -> None:
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    ingest.clock.advance(timedelta(seconds=299))
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert len(await ingest.stored()) == 2
    ingest.clock.advance(timedelta(seconds=1))
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert len(await ingest.stored()) == 4


async def test_changed_annotation_is_written(ingest: Ingest) -> None:
    await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    changed = copy.deepcopy(A1_FIRING)
    changed["alerts"][1]["annotations"]["summary"] = "Disk full on db2"
    response = await ingest.client.post("/ingest/alertmanager", json=changed, headers=AM_AUTH)
    assert await response.json() == {"status": "success", "stored": 1, "deduplicated": 1}


async def test_store_outage_answers_503_so_senders_retry(ingest: Ingest) -> None:
    await ingest.client.app[STORE].close()
    response = await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert (
        ingest.metric("tocsin_alerts_rejected_total", source="am", reason="store_unavailable") == 1
    )


async def test_alert_not_written_during_an_outage_is_written_after_it(ingest: Ingest) -> None:
    store = ingest.client.app[STORE]
    await store.close()
    assert (
        await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    ).status == 503
    await store.open()
    response = await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    # The failed write was forgotten by the duplicate filter, so nothing is skipped now.
    assert await response.json() == {"status": "success", "stored": 2, "deduplicated": 0}
    assert len(await ingest.stored()) == 2
