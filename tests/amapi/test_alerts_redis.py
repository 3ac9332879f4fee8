"""The Alertmanager API on the Redis store: the same alerts, mutes and receivers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from core.fingerprint import labels_fingerprint
from tests.amapi.harness import RESPONDER, at, make_settings, start
from tests.amapi.test_alerts import DISK, NODE_DOWN, WEB

pytestmark = pytest.mark.redis


async def test_alerts_mutes_and_receivers_on_redis(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    tmp_path: Path,
    redis_url: str,
) -> None:
    amapi = await start(aiohttp_client, make_settings(tmp_path, store=redis_url))
    silence = {
        "matchers": [{"name": "alertname", "value": "HighLatency", "isRegex": False}],
        "startsAt": at(timedelta(0)),
        "endsAt": at(timedelta(hours=2)),
        "createdBy": "ana",
        "comment": "deploying",
    }
    created = await amapi.client.post("/api/v2/silences", json=silence, headers=RESPONDER)
    silence_id = (await created.json())["silenceID"]
    await amapi.post_alerts(NODE_DOWN)
    await amapi.wait_for_alerts(1)
    await amapi.post_alerts(DISK, WEB)
    alerts = await amapi.wait_for_alerts(3)
    by_name = {a["labels"]["alertname"]: a for a in alerts}
    assert by_name["HighLatency"]["status"]["silencedBy"] == [silence_id]
    assert by_name["DiskFull"]["status"]["inhibitedBy"] == [labels_fingerprint(NODE_DOWN)]
    assert by_name["NodeDown"]["status"]["state"] == "active"
    receivers = sorted(r["name"] for r in by_name["DiskFull"]["receivers"])
    assert receivers == ["db-dashboards", "db-oncall"]
    # Asked again, unchanged incidents come from what the first answer rendered.
    assert await amapi.alerts() == alerts
