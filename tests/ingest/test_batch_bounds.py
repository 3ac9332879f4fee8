"""Issue 9 items 1, 7 and 8: a batch costs what its size allows, counted alert by alert.

- a request carries at most ``--max-alerts-per-request`` items: more is a 413 naming
  ``alerts``, decided on the count, before any item is decoded;
- a 400 lists the first 100 problems and counts the rest (``more_problems``);
- a large batch is decoded in slices: other requests are served meanwhile;
- the rate limit is charged on the item count before decoding: a source over its limit
  gets a 429 (with ``accepted``), never a 400 built from its items;
- received and rejected metrics count alerts, not problems.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

from tests.app_harness import AM_AUTH, ENV, HOOK_AUTH, RULES, Ingest
from tests.ingest.edge_app import ClientFactory, edge_app

GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def empty_items_body(count: int) -> bytes:
    """The attacker's body: a webhook message of ``count`` empty alerts, gzipped."""
    return gzip.compress(json.dumps({"version": "4", "alerts": [{}] * count}).encode(), 9)


async def big_app(tmp_path: Path, aiohttp_client: ClientFactory, **settings: object) -> Ingest:
    return await edge_app(
        tmp_path, aiohttp_client, RULES, ENV, max_body_bytes=8 * 1024 * 1024, **settings
    )


async def test_the_900k_empty_items_body_gets_a_small_413_naming_alerts(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await big_app(tmp_path, aiohttp_client)
    body = empty_items_body(900_000)
    assert len(body) < 10_000
    response = await app.client.post(
        "/ingest/alertmanager", data=body, headers={**AM_AUTH, **GZIP_JSON}
    )
    raw = await response.read()
    assert response.status == 413
    assert len(raw) < 1_000
    answer = json.loads(raw)
    assert answer["field"] == "alerts"
    assert "50000" in answer["error"]
    # Counted as the alerts they are, not as one request.
    assert app.metric("tocsin_alerts_received_total", source="am") == 900_000
    assert app.metric("tocsin_alerts_rejected_total", source="am", reason="too_large") == 900_000


async def test_a_large_invalid_batch_lists_100_problems_and_others_are_served_meanwhile(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    count = 60_000
    app = await big_app(tmp_path, aiohttp_client, max_alerts_per_request=count)
    sent = asyncio.create_task(
        app.client.post(
            "/ingest/alertmanager", data=empty_items_body(count), headers={**AM_AUTH, **GZIP_JSON}
        )
    )
    # Wait until the batch is being decoded (its items are counted first), then ask for
    # /-/healthy: it is answered while the batch is still being decoded.
    while app.metric("tocsin_alerts_received_total", source="am") < count and not sent.done():  # noqa: ASYNC110
        await asyncio.sleep(0)  # a yield to the loop (no event to wait on), not a timed wait
    healthy = await app.client.get("/-/healthy")
    assert healthy.status == 200
    assert not sent.done()
    response = await sent
    raw = await response.read()
    assert response.status == 400
    assert len(raw) < 20_000
    answer = json.loads(raw)
    assert len(answer["problems"]) == 100
    assert answer["problems"][0]["index"] == 0
    # Each empty alert has three problems (status, labels, startsAt).
    assert answer["more_problems"] == 3 * count - 100
    assert answer["accepted"] == 0
    assert app.metric("tocsin_alerts_rejected_total", source="am", reason="invalid") == count


async def test_a_source_over_its_rate_limit_gets_429_before_its_items_are_decoded(
    ingest: Ingest,
) -> None:
    # The hooks source: burst 3 at 1 alert/s. Three valid alerts drain it.
    drain = [{"summary": "s", "labels": {"alertname": f"a{i}"}} for i in range(3)]
    first = await ingest.client.post("/ingest/webhook", json=drain, headers=HOOK_AUTH)
    assert first.status == 200
    # Five invalid items: a 429 for their count, not a 400 listing their problems.
    invalid = [{"severity": "nope"}] * 5
    response = await ingest.client.post("/ingest/webhook", json=invalid, headers=HOOK_AUTH)
    assert response.status == 429
    answer = await response.json()
    assert answer["accepted"] == 0
    assert "problems" not in answer
    assert ingest.metric("tocsin_alerts_rejected_total", source="hooks", reason="invalid") == 0
    # Item 7: the whole refused batch counts its five alerts.
    assert ingest.metric("tocsin_alerts_rejected_total", source="hooks", reason="rate_limited") == 5
    assert ingest.metric("tocsin_alerts_received_total", source="hooks") == 8


async def test_an_alert_with_three_bad_fields_counts_once(ingest: Ingest) -> None:
    bad = {"status": "sideways", "labels": {"1x": "a"}, "startsAt": "yesterday"}
    good = {
        "status": "firing",
        "labels": {"alertname": "ok"},
        "startsAt": "2026-11-27T15:00:00Z",
    }
    response = await ingest.client.post(
        "/ingest/alertmanager", json={"version": "4", "alerts": [bad, good]}, headers=AM_AUTH
    )
    assert response.status == 400
    answer = await response.json()
    assert len(answer["problems"]) == 3
    assert answer["accepted"] == 1
    assert "more_problems" not in answer
    assert ingest.metric("tocsin_alerts_received_total", source="am") == 2
    assert ingest.metric("tocsin_alerts_rejected_total", source="am", reason="invalid") == 1


async def test_a_partly_granted_batch_counts_its_refused_alerts(ingest: Ingest) -> None:
    batch = [{"summary": "s", "labels": {"alertname": f"a{i}"}} for i in range(50)]
    response = await ingest.client.post("/ingest/webhook", json=batch, headers=HOOK_AUTH)
    assert response.status == 429
    assert (await response.json())["accepted"] == 3
    assert ingest.metric("tocsin_alerts_received_total", source="hooks") == 50
    assert (
        ingest.metric("tocsin_alerts_rejected_total", source="hooks", reason="rate_limited") == 47
    )


async def test_a_pagerduty_429_says_nothing_was_accepted(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    rules = RULES.replace(
        "    routing_key: {env: PD_KEY}",
        "    routing_key: {env: PD_KEY}\n    rate_limit: {alerts_per_second: 1, burst: 1}",
    )
    app = await edge_app(tmp_path, aiohttp_client, rules, ENV)
    event = {
        "routing_key": ENV["PD_KEY"],
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "db1", "severity": "error"},
    }
    assert (await app.client.post("/v2/enqueue", json=event)).status == 202
    limited = await app.client.post("/v2/enqueue", json=event)
    assert limited.status == 429
    assert (await limited.json())["accepted"] == 0
