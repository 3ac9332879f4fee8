"""The webhook notifier against a real local aiohttp receiver, on both stores.

The receiver verifies every request with standardwebhooks' own verifier. That verifier
checks the signature's timestamp against the wall clock (5 minutes' tolerance), so these
tests start their injected clock at the real time; time still moves only when told to.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.clock import ManualClock
from core.store import Store
from core.timestamps import format_rfc3339
from escalation.delivery import Backoff, OutboxDelivery
from escalation.page import OUTBOX
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import WebhookClient
from rules.channels import Channel, ChannelKind, WebhookConfig
from rules.credentials import Secret
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BASE_URL = "http://tocsin.example"


@dataclass
class Receiver:
    """A webhook receiver that answers with ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    verified: list[Any] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    rejected: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            payload = Webhook(SECRET).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=401)
        self.ids.append(request.headers["webhook-id"])
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.verified.append(payload)
        return web.Response(status=status)


Serve = Callable[..., Awaitable[TestServer]]


async def started(aiohttp_server: Serve, receiver: Receiver) -> str:
    """Starts the receiver; returns its URL."""
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook"))


def hooked_world(store: Store, url: str) -> World:
    """A world whose channel ``hook`` posts to ``url``, its clock at the real time."""
    rules = make_rules()
    hook = Channel(
        "hook",
        ChannelKind.WEBHOOK,
        WebhookConfig(
            Secret(url, "env:HOOK"), None, timedelta(5), Secret(SECRET, "file:signing-secret")
        ),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    return World(store, ManualClock(now), rules=replace(rules, channels={"hook": hook}))


async def delivered(world: World, client: WebhookClient) -> OutboxDelivery:
    """A delivery whose webhook notifier signs with SECRET, jitter seeded."""
    notifier = WebhookNotifier(client, world.clock, BASE_URL)
    return OutboxDelivery(
        world.store,
        lambda: world.rules,
        world.clock,
        {ChannelKind.WEBHOOK: notifier},
        rng=random.Random(7),
        backoff=Backoff(timedelta(seconds=1), timedelta(seconds=60), max_attempts=3),
    )


async def test_a_page_arrives_signed_with_the_documented_body(
    store: Store, aiohttp_server: Serve
) -> None:
    receiver = Receiver()
    world = hooked_world(store, await started(aiohttp_server, receiver))
    incident = await world.open()
    start = world.clock.now()
    await world.at(start + timedelta(seconds=30))

    async with WebhookClient() as client:
        sent = await (await delivered(world, client)).step()

    assert sent == 1
    assert receiver.rejected == 0
    assert receiver.verified == [
        {
            "type": "incident.page",
            "incident": {
                "id": incident,
                "title": "High latency on web-1",
                "state": "triggered",
                "priority": "P2",
                "service": "checkout",
                # The incident as the page was decided (escalation.page_summary).
                "category": "performance",
                "team": "web",
                "impact": "medium",
                "urgency": "high",
                "opened_at": format_rfc3339(start),
                "alert_count": 1,
                "firing_count": 1,
                "labels": {"alertname": "HighLatency", "instance": "web-1", "サービス": "決済"},
                "annotations": {"summary": "latency on web-1"},
            },
            "page": {
                "key": f"{incident}:1:0:0:ann:hook",
                "level": 1,
                "repeat": 0,
                "person": "ann",
                "address": "ann@example.org",
                "channel": "hook",
            },
            "links": {"incident": f"{BASE_URL}/api/v1/incidents/{incident}"},
        }
    ]
    assert await world.outbox() == []  # delivered: filed under no time


@pytest.mark.parametrize(
    ("statuses", "expected_status", "attempts"),
    [
        # A 503 then a 200: retried once after the backoff, then delivered.
        ([503], "delivered", 2),
        # A 429 is a rate limit: retried too.
        ([429, 429], "delivered", 3),
        # A 400 is the request's fault: given up at once.
        ([400], "failed", 1),
        # Always 500: given up after max_attempts (3).
        ([500, 500, 500, 500], "failed", 3),
    ],
)
async def test_failures_are_retried_with_backoff_and_recorded(
    store: Store,
    aiohttp_server: Serve,
    statuses: list[int],
    expected_status: str,
    attempts: int,
) -> None:
    receiver = Receiver(list(statuses))
    world = hooked_world(store, await started(aiohttp_server, receiver))
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))
    key = f"{incident}:1:0:0:ann:hook"

    async with WebhookClient() as client:
        delivery = await delivered(world, client)
        for _ in range(6):
            await delivery.step()
            early = await delivery.step()  # nothing is due again before its backoff
            assert early == 0
            world.clock.advance(timedelta(seconds=60))

    entry = (await store.consumer_documents(OUTBOX, [key]))[key]
    assert (entry["status"], entry["attempts"]) == (expected_status, attempts)
    assert len(entry["results"]) == attempts
    assert receiver.ids == [key] * attempts  # the same webhook-id on every retry
    assert receiver.rejected == 0


async def test_a_channel_without_a_signing_secret_sends_no_signature(
    store: Store, aiohttp_server: Serve
) -> None:
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    url = str((await aiohttp_server(app)).make_url("/hook"))
    world = hooked_world(store, url)
    hook = world.rules.channels["hook"]
    assert isinstance(hook.config, WebhookConfig)
    unsigned = replace(hook, config=replace(hook.config, signing_secret=None))
    world.rules = replace(world.rules, channels={"hook": unsigned})
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))

    async with WebhookClient() as client:
        assert await (await delivered(world, client)).step() == 1

    assert [h.get("webhook-id") for h in seen] == [f"{incident}:1:0:0:ann:hook"]
    assert "webhook-signature" not in seen[0]
