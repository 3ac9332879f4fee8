"""In `tocsin serve`, a channel whose receiver hangs holds up no other channel's pages.

Delivery hands each pass's sends to per-channel lanes and does not wait for them: a
second incident's page on a healthy channel arrives while the first page on the hung
channel is still unanswered (its timeout is a minute, far past the test's deadline).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.app_harness import AM_AUTH
from tests.ingest.payloads import A1_FIRING, DB1, webhook
from tests.support import poll_until
from tests.tocsin.test_paging_in_app import Receiver, paging_client

TWO_CHANNELS = """
channels:
  - name: slow
    webhook:
      url: {slow}
      signing_secret: {{file: signing-secret}}
      timeout: 60s
  - name: fast
    webhook:
      url: {fast}
      signing_secret: {{file: signing-secret}}
      timeout: 5s
people:
  - name: ann
    contacts: [{{channel: slow, address: ann@example.org}}]
  - name: cat
    contacts: [{{channel: fast, address: cat@example.org}}]
escalation_policies:
  - name: db
    levels:
      - {{delay: 5m, targets: [{{person: ann}}, {{person: cat}}]}}
route:
  policy: db
  group_by: [alertname]
  group_wait: 0s
"""

Serve = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def two_channels(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_server: Serve, aiohttp_client: Client
) -> AsyncIterator[tuple[TestClient, Receiver, Receiver]]:  # type: ignore[type-arg]
    """The application paging a receiver that hangs and one that answers, on each store."""
    slow, fast = Receiver(), Receiver()
    fast.gate.set()
    app = web.Application()
    app.router.add_post("/slow", slow.handle)
    app.router.add_post("/fast", fast.handle)
    server = await aiohttp_server(app)
    urls = {"slow": server.make_url("/slow"), "fast": server.make_url("/fast")}
    client = await paging_client(request, tmp_path, aiohttp_client, TWO_CHANNELS.format(**urls))
    yield client, slow, fast
    slow.gate.set()


async def test_a_hung_channel_holds_up_no_other_channel(
    two_channels: tuple[TestClient, Receiver, Receiver],  # type: ignore[type-arg]
) -> None:
    client, slow, fast = two_channels

    async def fast_pages(count: int) -> list[dict[str, Any]] | None:
        return fast.pages if len(fast.pages) >= count else None

    await client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    await poll_until(lambda: fast_pages(1), deadline_seconds=20, interval=0.02)
    other = webhook([{**A1_FIRING["alerts"][0], "labels": {**DB1, "alertname": "Other"}}])
    await client.post("/ingest/alertmanager", json=other, headers=AM_AUTH)

    pages = await poll_until(lambda: fast_pages(2), deadline_seconds=20, interval=0.02)

    assert len({p["incident"]["id"] for p in pages}) == 2  # one page per incident
    assert slow.ids  # the slow channel was sent its pages...
    assert not slow.pages  # ...and has answered none of them yet
