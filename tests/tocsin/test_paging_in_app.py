"""`tocsin serve` pages: an alert becomes a signed webhook page at a real local receiver.

The application runs its escalation stage and delivery as background tasks (on both
stores); its clock is a manual one set to the real time, because the receiver verifies
signatures with standardwebhooks' own verifier (5 minutes' tolerance of the wall clock).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from standardwebhooks import Webhook

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import AM_AUTH, ENV, RESPONDER, RULES
from tests.ingest.payloads import A1_FIRING, DB1, webhook
from tests.support import poll_until
from tocsin.app import create_app

SECRET = "whsec_" + base64.b64encode(b"paging-in-app-test-secret-32b!!!").decode()
PUBLIC = "https://tocsin.example"

PAGING_RULES = """
channels:
  - name: hook
    webhook:
      url: {url}
      signing_secret: {{file: signing-secret}}
      timeout: 5s
people:
  - name: ann
    contacts: [{{channel: hook, address: ann@example.org}}]
  - name: bob
    contacts: [{{channel: hook, address: bob@example.org}}]
escalation_policies:
  - name: db
    levels:
      - {{delay: 5m, targets: [{{person: ann}}]}}
      - {{delay: 5m, targets: [{{person: bob}}]}}
route:
  policy: db
  group_by: [alertname]
  group_wait: 0s
"""


@dataclass
class Receiver:
    """Verifies each request's signature; holds answers while ``gate`` is closed."""

    pages: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        payload = Webhook(SECRET).verify(body, dict(request.headers))  # raises if forged
        self.ids.append(request.headers["webhook-id"])
        await self.gate.wait()
        self.pages.append(payload)
        return web.Response(status=204)


Serve = Callable[..., Awaitable[TestServer]]
Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


async def paging_client(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    aiohttp_client: Client,
    rules_text: str,
    **settings: Any,
) -> TestClient:  # type: ignore[type-arg]
    """The application with ``rules_text`` (after the test rules) on the test's store.

    The signing secret is written beside the rules; the clock is a manual one at the
    real time (receivers verify signatures against the wall clock).
    """
    (tmp_path / "signing-secret").write_text(SECRET)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES + rules_text)
    store = (
        f"sqlite://{tmp_path / 'tocsin.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    chosen = Settings(rules=rules, store=store, correlator_mode="inline", **settings)
    clock = ManualClock(datetime.now(UTC))
    app = create_app(chosen, clock=clock, registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def paging(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_server: Serve, aiohttp_client: Client
) -> AsyncIterator[tuple[TestClient, Receiver]]:  # type: ignore[type-arg]
    """The application paging a receiver, on each store."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    rules = PAGING_RULES.format(url=server.make_url("/hook"))
    client = await paging_client(request, tmp_path, aiohttp_client, rules, public_url=PUBLIC)
    yield client, receiver
    receiver.gate.set()


async def test_an_alert_pages_level_one_and_escalate_pages_level_two(
    paging: tuple[TestClient, Receiver],  # type: ignore[type-arg]
) -> None:
    client, receiver = paging
    receiver.gate.set()
    response = await client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert response.status == 200

    async def paged(count: int) -> list[dict[str, Any]] | None:
        return receiver.pages if len(receiver.pages) >= count else None

    first = (await poll_until(lambda: paged(1), deadline_seconds=20, interval=0.02))[0]
    incident = first["incident"]["id"]
    assert (first["page"]["person"], first["page"]["level"]) == ("ann", 1)
    assert first["links"]["incident"] == f"{PUBLIC}/api/v1/incidents/{incident}"

    escalated = await client.post(
        f"/api/v1/incidents/{incident}/escalate", json={"note": "ann is away"}, headers=RESPONDER
    )
    assert escalated.status == 200, await escalated.text()
    pages = await poll_until(lambda: paged(2), deadline_seconds=20, interval=0.02)

    assert [(p["page"]["person"], p["page"]["level"]) for p in pages] == [("ann", 1), ("bob", 2)]
    assert len(set(receiver.ids)) == len(receiver.ids) == 2  # each step sent once


async def test_a_hanging_receiver_slows_neither_ingest_nor_correlation(
    paging: tuple[TestClient, Receiver],  # type: ignore[type-arg]
) -> None:
    client, receiver = paging  # the gate stays closed: the receiver never answers
    await client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)

    async def held() -> bool | None:
        return True if receiver.ids else None

    await poll_until(held, deadline_seconds=20, interval=0.02)  # a delivery is hanging now
    other = webhook([{**A1_FIRING["alerts"][0], "labels": {**DB1, "alertname": "Other"}}])
    started = asyncio.get_running_loop().time()
    response = await client.post("/ingest/alertmanager", json=other, headers=AM_AUTH)
    answered = asyncio.get_running_loop().time() - started

    async def correlated() -> list[Any] | None:
        listed = await client.get("/api/v1/incidents", headers=RESPONDER)
        items = (await listed.json())["incidents"]
        return items if len(items) == 2 else None

    assert response.status == 200
    assert answered < 1.0
    assert len(await poll_until(correlated, deadline_seconds=10, interval=0.02)) == 2
    assert receiver.pages == []  # still hanging: it was not waited for
