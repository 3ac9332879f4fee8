"""POST /ingest/heartbeat/{name}: pings are authenticated, recorded, and resolve a gap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.model import AlertStatus
from core.settings import Settings
from core.timestamps import from_micros
from tests.app_harness import START
from tocsin.app import create_app
from tocsin.keys import STORE

RULES = """
sources:
  - name: cron
    kind: webhook
    auth: {bearer_token: {env: CRON_TOKEN}}
heartbeats:
  - name: nightly-backup
    interval: 25h
"""
AUTH = {"Authorization": "Bearer cron-secret"}


@pytest.fixture
async def app_client(
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
) -> tuple[TestClient, ManualClock]:  # type: ignore[type-arg]
    (tmp_path / "rules.yml").write_text(RULES)
    clock = ManualClock(START)
    settings = Settings(
        rules=tmp_path / "rules.yml", store=f"sqlite://{tmp_path / 't.db'}", correlate=False
    )
    app = create_app(
        settings, clock=clock, registry=CollectorRegistry(), env={"CRON_TOKEN": "cron-secret"}
    )
    return await aiohttp_client(app), clock


async def test_first_ping_is_recorded_and_logs_the_all_clear(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, clock = app_client
    response = await client.post("/ingest/heartbeat/nightly-backup", headers=AUTH)
    assert response.status == 200
    assert (await response.json())["next_ping_due_by"] == "2026-11-28T16:12:00Z"
    store = client.app[STORE]
    assert from_micros(int(await store.load_cursor("heartbeat:nightly-backup") or 0)) == clock.now()
    [entry] = await store.read(None, 10)
    assert entry.alert.status is AlertStatus.RESOLVED
    assert entry.alert.labels["heartbeat"] == "nightly-backup"


async def test_pings_in_time_only_move_the_last_ping(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, clock = app_client
    for _ in range(3):
        assert (await client.post("/ingest/heartbeat/nightly-backup", headers=AUTH)).status == 200
        clock.advance(timedelta(hours=24))
    assert len(await client.app[STORE].read(None, 10)) == 1


async def test_unknown_heartbeat_is_404_and_a_stranger_401(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, _ = app_client
    missing = await client.post("/ingest/heartbeat/weekly-report", headers=AUTH)
    assert missing.status == 404
    assert "weekly-report" in (await missing.json())["error"]
    stranger = await client.post("/ingest/heartbeat/nightly-backup")
    assert stranger.status == 401
