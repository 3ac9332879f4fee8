"""GET /api/v1/channels: each channel and whether delivery paused it (as stored)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.store import CorrelationCommit
from core.store.events import ConsumerWrite
from escalation.pausing import CHANNELS, ChannelState
from tests.tocsin.oncall_rules import ONCALL_ENV, ONCALL_RULES, VIEWER
from tocsin.app import create_app
from tocsin.keys import STORE

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path) -> Client:
    rules = tmp_path / "rules.yml"
    rules.write_text(ONCALL_RULES)
    settings = Settings(
        rules=rules, store=f"sqlite://{tmp_path / 'tocsin.db'}", correlator_mode="inline"
    )
    app = create_app(settings, clock=ManualClock(NOW), registry=CollectorRegistry(), env=ONCALL_ENV)
    return await aiohttp_client(app)


async def test_a_channel_never_failing_is_ok(client: Client) -> None:
    response = await client.get("/api/v1/channels", headers=VIEWER)

    assert response.status == 200
    [hook] = (await response.json())["channels"]
    assert hook["name"] == "hook"
    assert (hook["status"], hook["failures"], hook["paused_until"]) == ("ok", 0, None)


async def test_a_paused_channel_says_until_when_and_why(client: Client) -> None:
    state = ChannelState(5, NOW + timedelta(seconds=30), timedelta(seconds=30), NOW, "HTTP 503")
    write = ConsumerWrite(CHANNELS, "hook", state.to_document())
    await client.app[STORE].commit(CorrelationCommit("test", documents=(write,)))

    response = await client.get("/api/v1/channels", headers=VIEWER)

    [hook] = (await response.json())["channels"]
    assert hook["status"] == "paused"
    assert hook["paused_until"] == "2026-03-04T10:00:30Z"
    assert hook["last_error"] == "HTTP 503"


async def test_without_a_key_it_is_refused(client: Client) -> None:
    response = await client.get("/api/v1/channels")

    assert response.status in (401, 403)
