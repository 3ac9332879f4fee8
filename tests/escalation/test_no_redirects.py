"""No notifier follows a redirect (review 11 finding 6): a local receiver answers 307
pointing at another local server; the webhook and Slack deliveries fail for good naming
the status and the Location's host, Apprise's fails, and the other server gets nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.clock import ManualClock
from escalation.apprise_notifier import AppriseNotifier
from escalation.redirects import redirect_error
from escalation.slack import SlackNotifier
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import WebhookClient
from rules.channels import (
    AppriseConfig,
    Channel,
    ChannelKind,
    SlackConfig,
    WebhookConfig,
)
from rules.credentials import BearerAuth, Secret

NOW = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)
Serve = Callable[..., Awaitable[TestServer]]
ENTRY = {
    "key": "inc-0001:1:0:0:ana:ch",
    "incident": "inc-0001",
    "level": 0,
    "repeat": 0,
    "person": "ana",
    "channel": "ch",
    "address": "",
    "title": "High latency on web-1",
    "state": "triggered",
    "priority": "P2",
    "service": "checkout",
}


@dataclass
class Elsewhere:
    """Where the redirect points: counts what reaches it."""

    received: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(request.headers.get("authorization", ""))
        return web.Response(text="ok")


@pytest.fixture
async def redirecting(aiohttp_server: Serve) -> tuple[str, Elsewhere]:
    """A receiver at ``/hook`` answering 307 to another server (by the name localhost)."""
    elsewhere = Elsewhere()
    other = web.Application()
    other.router.add_post("/elsewhere", elsewhere.handle)
    other_server = await aiohttp_server(other, host="127.0.0.1")
    target = f"http://localhost:{other_server.port}/elsewhere?token=secret"

    async def redirect(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=307, headers={"Location": target})

    app = web.Application()
    app.router.add_post("/hook", redirect)
    server = await aiohttp_server(app, host="127.0.0.1")
    # The redirect is followable: a client that follows it reaches the other server.
    hook = f"http://127.0.0.1:{server.port}/hook"
    async with aiohttp.ClientSession() as session, session.post(hook, data=b"{}") as followed:
        assert followed.status == 200
    assert len(elsewhere.received) == 1
    elsewhere.received.clear()
    return f"http://127.0.0.1:{server.port}/hook", elsewhere


async def test_the_webhook_does_not_follow_a_redirect(redirecting: tuple[str, Elsewhere]) -> None:
    url, elsewhere = redirecting
    config = WebhookConfig(
        Secret(url, "env:HOOK"), BearerAuth(Secret("t0ken", "env:T")), timedelta(seconds=5)
    )
    async with WebhookClient() as client:
        notifier = WebhookNotifier(client, ManualClock(NOW), "http://tocsin.example")
        attempt = await notifier(Channel("ch", ChannelKind.WEBHOOK, config), ENTRY)
    assert (attempt.ok, attempt.status, attempt.transient) == (False, 307, False)
    assert attempt.error is not None
    assert "HTTP 307 redirect (Location host localhost)" in attempt.error
    assert "secret" not in attempt.error  # only the host: the rest may carry a token
    assert elsewhere.received == []


async def test_slack_does_not_follow_a_redirect(redirecting: tuple[str, Elsewhere]) -> None:
    url, elsewhere = redirecting
    channel = Channel("ch", ChannelKind.SLACK, SlackConfig(Secret(url, "env:SLACK_URL")))
    async with aiohttp.ClientSession() as session:
        attempt = await SlackNotifier(session, "http://tocsin.example")(channel, ENTRY)
    assert (attempt.ok, attempt.status, attempt.transient) == (False, 307, False)
    assert attempt.error is not None
    assert "HTTP 307 redirect (Location host localhost)" in attempt.error
    assert elsewhere.received == []


async def test_apprise_does_not_follow_a_redirect(redirecting: tuple[str, Elsewhere]) -> None:
    url, elsewhere = redirecting
    apprise_url = url.replace("http://", "json://")
    channel = Channel(
        "ch",
        ChannelKind.APPRISE,
        AppriseConfig((Secret(apprise_url, "inline"),), timedelta(seconds=10)),
    )
    attempt = await AppriseNotifier(ManualClock(NOW), "http://tocsin.example")(channel, ENTRY)
    # Apprise says only that the send failed, not why: counted as a refusal.
    assert attempt.ok is False
    assert elsewhere.received == []


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("https://evil.example:8443/x?t=1", "Location host evil.example"),
        ("/moved", "a Location on the same host"),
        (None, "no Location"),
        ("http://[::1/", "a Location on the same host"),  # malformed: no host read
    ],
)
def test_a_redirect_error_names_only_the_host(location: str | None, said: str) -> None:
    error = redirect_error(308, location)
    assert error.startswith(f"HTTP 308 redirect ({said})")
