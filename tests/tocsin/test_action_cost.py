"""An action on a storm incident reads what its answer shows, not every alert.

As in test_incident_page_cost: alert documents past every page are made unreadable as
alerts, so that a whole read of the incident fails. An acknowledge still answers 200,
and the counts the store keeps for the new version are the whole incident's, on SQLite
and on a real redis-server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.settings import Settings
from tests.app_harness import RESPONDER, VIEWER
from tests.tocsin.test_incident_page_cost import (
    ALERTS,
    Client,
    break_redis,
    break_sqlite,
    served,
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_an_acknowledge_reads_no_alert_outside_its_answer(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    backend: str,
) -> None:
    if backend == "sqlite":
        client, incident = await served(aiohttp_client, make_settings(correlate=False))
        break_sqlite(tmp_path / "tocsin.db", incident.id)
    else:
        url: str = request.getfixturevalue("redis_url")
        client, incident = await served(aiohttp_client, make_settings(correlate=False, store=url))
        await break_redis(url, incident.id)

    acknowledged = await client.post(
        f"/api/v1/incidents/{incident.id}/acknowledge?alerts_limit=10", headers=RESPONDER
    )

    assert acknowledged.status == 200, await acknowledged.text()
    answer = await acknowledged.json()
    assert (answer["state"], answer["version"], len(answer["alerts"])) == ("acknowledged", 2, 10)
    whole = {"alerts": ALERTS, "firing": 2_000, "resolved": 1_000}
    assert answer["counts"] == whole
    listed = await client.get("/api/v1/incidents", headers=VIEWER)
    [item] = (await listed.json())["incidents"]
    assert (item["version"], item["counts"]) == (2, whole)
