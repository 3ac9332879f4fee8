"""Item 16: where the credential is in the body (PagerDuty), the body limit is PagerDuty's.

A stranger's body to ``/v2/enqueue`` must be read before its routing key can refuse it,
so that endpoint takes at most 512 KiB; the others keep ``--max-body-bytes`` (4 MiB).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson

from tests.ingest.edge_app import ClientFactory, edge_app

RULES = """
sources:
  - name: pd
    kind: pagerduty
    routing_key: {env: PD_KEY}
  - name: hooks
    kind: webhook
    auth: {bearer_token: {env: HOOK_TOKEN}}
"""
ENV = {"PD_KEY": "0123456789abcdef0123456789abcdef", "HOOK_TOKEN": "h"}
KIB = 1024


def event(padding: int) -> bytes:
    return orjson.dumps(
        {
            "routing_key": "not-the-key",
            "event_action": "trigger",
            "payload": {"summary": "s", "source": "x", "severity": "info", "pad": "p" * padding},
        }
    )


async def chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * KIB):
        yield body[start : start + 64 * KIB]


async def test_pagerduty_bodies_over_512_kib_are_413(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await edge_app(tmp_path, aiohttp_client, RULES, ENV)
    headers = {"Content-Type": "application/json"}
    declared = await app.client.post("/v2/enqueue", data=event(520 * KIB), headers=headers)
    assert declared.status == 413
    assert (await declared.json())["status"] == "error"  # PagerDuty's error body
    # Without a Content-Length (chunked), the limit stops the read as it passes.
    streamed = await app.client.post("/v2/enqueue", data=chunks(event(520 * KIB)), headers=headers)
    assert streamed.status == 413
    # Under the limit, the body is read and the routing key judged: 401 for a stranger.
    small = await app.client.post("/v2/enqueue", data=event(500 * KIB), headers=headers)
    assert small.status == 401


async def test_other_endpoints_keep_the_general_limit(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    app = await edge_app(tmp_path, aiohttp_client, RULES, ENV)
    body = orjson.dumps(
        [{"summary": "s" * 100, "labels": {"alertname": f"A{i}"}} for i in range(6000)]
    )
    assert len(body) > 520 * KIB
    response = await app.client.post(
        "/ingest/webhook",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Bearer h"},
    )
    assert response.status == 200
    assert len(await app.stored()) == 6000
