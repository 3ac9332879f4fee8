"""Item 15: every alert of a batch costs a token, and heartbeat pings are rate-limited too.

The test rules give the ``hooks`` webhook source 1 alert/s with a burst of 3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.ratelimit import Admission, TokenBucket
from rules.model import RateLimit
from tests.app_harness import HOOK_AUTH, Ingest
from tests.ingest.edge_app import ClientFactory, edge_app

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def hook_alerts(count: int, prefix: str = "a") -> list[dict[str, object]]:
    return [{"summary": "s", "labels": {"alertname": f"{prefix}{i}"}} for i in range(count)]


def test_a_batch_within_the_burst_costs_one_token_per_alert() -> None:
    bucket = TokenBucket(RateLimit(alerts_per_second=50, burst=100), NOW)
    for _ in range(10):
        assert bucket.take(10, NOW) == Admission(10)
    # The bucket is empty now: the eleventh batch waits 10 alerts' worth of time.
    assert bucket.take(10, NOW) == Admission(0, 0.2)


def test_an_oversized_batch_gets_only_what_the_tokens_cover() -> None:
    bucket = TokenBucket(RateLimit(alerts_per_second=50, burst=100), NOW)
    # The attack of the issue: 10,000-alert batches against 50/s. The old bucket charged
    # such a batch only the burst and let all 10,000 through.
    assert bucket.take(10_000, NOW) == Admission(100, 2.0)
    assert bucket.take(10_000, NOW) == Admission(0, 2.0)
    # One second later the bucket holds 50 tokens: 50 alerts pass, never more than the rate.
    assert bucket.take(10_000, NOW + timedelta(seconds=1)).granted == 50
    stored = sum(bucket.take(10_000, NOW + timedelta(seconds=s)).granted for s in range(2, 62))
    assert stored == 60 * 50


async def test_oversized_batch_stores_its_first_alerts_and_429s_the_rest(ingest: Ingest) -> None:
    response = await ingest.client.post("/ingest/webhook", json=hook_alerts(5), headers=HOOK_AUTH)
    assert response.status == 429
    body = await response.json()
    assert body["accepted"] == 3
    # The refused rest waits for a full bucket: 3 tokens at 1/s.
    assert response.headers["Retry-After"] == "3"
    stored = await ingest.stored()
    assert [a.labels["alertname"] for a in stored] == ["a0", "a1", "a2"]
    assert ingest.metric("tocsin_alerts_rejected_total", source="hooks", reason="rate_limited") == 2


async def test_batches_within_the_burst_are_charged_every_alert(ingest: Ingest) -> None:
    first = await ingest.client.post("/ingest/webhook", json=hook_alerts(2), headers=HOOK_AUTH)
    assert first.status == 200
    # One token is left: a batch of two is refused whole, with the time until it fits.
    second = await ingest.client.post(
        "/ingest/webhook", json=hook_alerts(2, "b"), headers=HOOK_AUTH
    )
    assert second.status == 429
    assert (await second.json())["accepted"] == 0  # nothing stored (issue 9, item 8)
    assert second.headers["Retry-After"] == "1"
    ingest.clock.advance(timedelta(seconds=1))
    third = await ingest.client.post("/ingest/webhook", json=hook_alerts(2, "b"), headers=HOOK_AUTH)
    assert third.status == 200
    assert len(await ingest.stored()) == 4


HEARTBEAT_RULES = """
sources:
  - name: cron
    kind: webhook
    auth: {bearer_token: {env: CRON_TOKEN}}
    rate_limit: {alerts_per_second: 1, burst: 2}
heartbeats:
  - name: nightly-backup
    interval: 25h
"""


async def test_heartbeat_pings_are_rate_limited(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await edge_app(tmp_path, aiohttp_client, HEARTBEAT_RULES, {"CRON_TOKEN": "c"})
    auth = {"Authorization": "Bearer c"}
    statuses = [
        (await app.client.post("/ingest/heartbeat/nightly-backup", headers=auth)).status
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    app.clock.advance(timedelta(seconds=1))
    response = await app.client.post("/ingest/heartbeat/nightly-backup", headers=auth)
    assert response.status == 200
