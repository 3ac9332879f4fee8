"""An alert pages at once although every stage would poll only once a minute.

Ingest rings the correlator, the correlator's commit rings the paging stages
(tocsin.wakeup); without the rings this page would wait for the correlator's and the
stage's next polls, a minute each, past the test's deadline. Both stores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.app_harness import AM_AUTH
from tests.ingest.payloads import A1_FIRING, DB1, webhook
from tests.support import poll_until
from tests.tocsin.test_paging_in_app import PAGING_RULES, Receiver, paging_client
from tocsin import escalation_task

A_MINUTE = 60.0

Serve = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def slow_polls(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    aiohttp_server: Serve,
    aiohttp_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[TestClient, Receiver]:  # type: ignore[type-arg]
    """The application paging a receiver, its correlator and stages polling once a minute."""
    monkeypatch.setattr(escalation_task, "POLL_SECONDS", A_MINUTE)
    receiver = Receiver()
    receiver.gate.set()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    rules = PAGING_RULES.format(url=server.make_url("/hook"))
    client = await paging_client(
        request, tmp_path, aiohttp_client, rules, correlator_poll_seconds=A_MINUTE
    )
    return client, receiver


async def test_each_new_alert_pages_without_waiting_for_a_poll(
    slow_polls: tuple[TestClient, Receiver],  # type: ignore[type-arg]
) -> None:
    client, receiver = slow_polls

    async def paged(count: int) -> list[dict[str, Any]] | None:
        return receiver.pages if len(receiver.pages) >= count else None

    await client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    await poll_until(lambda: paged(1), deadline_seconds=20, interval=0.02)
    # Everything is idle now, each stage in its minute-long wait.
    other = webhook([{**A1_FIRING["alerts"][0], "labels": {**DB1, "alertname": "Other"}}])
    await client.post("/ingest/alertmanager", json=other, headers=AM_AUTH)

    pages = await poll_until(lambda: paged(2), deadline_seconds=20, interval=0.02)

    assert len({p["incident"]["id"] for p in pages}) == 2
