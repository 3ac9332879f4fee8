"""The apprise notifier against a real local aiohttp receiver, through Apprise's ``json://``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.clock import ManualClock
from escalation.action_links import ActionLinks
from escalation.apprise_notifier import AppriseNotifier, quiet_apprise_logs
from rules.channels import AppriseConfig, Channel, ChannelKind
from rules.credentials import Secret

NOW = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)
PUBLIC = "https://tocsin.example"
Server = Callable[..., Awaitable[TestServer]]


class Receiver:
    """An aiohttp app recording the JSON Apprise posts, answering ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.status = 200
        self.hold: asyncio.Event | None = None  # set: answers only once it is set

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{name}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.match_info["name"], await request.json()))
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=self.status)


def channel(*urls: str, timeout: timedelta = timedelta(seconds=10)) -> Channel:
    config = AppriseConfig(tuple(Secret(u, "inline") for u in urls), timeout)
    return Channel("chat", ChannelKind.APPRISE, config)


def entry(**changes: Any) -> dict[str, Any]:
    """An outbox entry paging ana on the apprise channel about incident inc-0001."""
    return {
        "key": "inc-0001:1:0:0:ana:chat",
        "incident": "inc-0001",
        "level": 0,
        "repeat": 0,
        "person": "ana",
        "channel": "chat",
        "address": "",
        "title": "High latency on web-1",
        "state": "triggered",
        "priority": "P2",
        "service": "checkout",
    } | changes


@pytest.fixture
async def receiver(aiohttp_server: Server) -> tuple[Receiver, int]:
    found = Receiver()
    server = await aiohttp_server(found.app(), host="127.0.0.1")
    return found, server.port


async def test_a_page_reaches_every_url_with_its_links(receiver: tuple[Receiver, int]) -> None:
    found, port = receiver
    links = ActionLinks("k" * 32, ManualClock(NOW))
    send = AppriseNotifier(ManualClock(NOW), PUBLIC, links=links)
    attempt = await send(
        channel(f"json://127.0.0.1:{port}/a", f"json://127.0.0.1:{port}/b"), entry()
    )
    assert (attempt.ok, attempt.error) == (True, None)

    assert sorted(name for name, _ in found.received) == ["a", "b"]  # sent concurrently
    _, body = found.received[0]
    assert body["title"] == "[P2] High latency on web-1"
    assert body["type"] == "failure"
    message = body["message"]
    assert "Open:" not in message  # the API's URL is no link for a person (review 11)
    [ack] = [line for line in message.splitlines() if line.startswith("Acknowledge: ")]
    claim = links.verify(ack.removeprefix(f"Acknowledge: {PUBLIC}/act/"))
    assert (claim.incident_id, claim.person) == ("inc-0001", "ana")


async def test_a_refusal_is_retried(receiver: tuple[Receiver, int]) -> None:
    found, port = receiver
    found.status = 500
    attempt = await AppriseNotifier(ManualClock(NOW), PUBLIC)(
        channel(f"json://127.0.0.1:{port}/a"), entry()
    )
    assert (attempt.ok, attempt.transient) == (False, True)
    assert len(found.received) == 1


async def test_a_url_apprise_does_not_know_is_permanent_and_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_apprise_logs()
    secret = "tgram://s3cr3t-bot-token"  # malformed: no chat
    with caplog.at_level(logging.DEBUG):
        attempt = await AppriseNotifier(ManualClock(NOW), PUBLIC)(
            channel("ntfy://alerts", secret), entry()
        )
    assert (attempt.ok, attempt.transient) == (False, False)
    assert attempt.error == "URL 2 of channel chat is not one Apprise understands"
    assert "s3cr3t" not in caplog.text


async def test_a_receiver_that_does_not_answer_times_out(receiver: tuple[Receiver, int]) -> None:
    found, port = receiver
    found.hold = asyncio.Event()
    slow = channel(f"json://127.0.0.1:{port}/a", timeout=timedelta(milliseconds=300))
    try:
        attempt = await AppriseNotifier(ManualClock(NOW), PUBLIC)(slow, entry())
    finally:
        found.hold.set()  # lets the worker thread finish
    assert (attempt.ok, attempt.transient) == (False, True)
    assert attempt.error is not None
    assert "no answer within" in attempt.error


async def test_resolved_and_room_messages_carry_no_action_links(
    receiver: tuple[Receiver, int],
) -> None:
    found, port = receiver
    links = ActionLinks("k" * 32, ManualClock(NOW))
    send = AppriseNotifier(ManualClock(NOW), PUBLIC, links=links)
    url = f"json://127.0.0.1:{port}/a"
    assert (await send(channel(url), entry(state="resolved"))).ok
    assert (await send(channel(url), entry(person=None))).ok
    bodies = [body for _, body in found.received]
    assert [b["type"] for b in bodies] == ["success", "failure"]
    assert all("/act/" not in b["message"] for b in bodies)


async def test_hanging_sends_leave_the_default_executor_free(
    receiver: tuple[Receiver, int],
) -> None:
    found, port = receiver
    found.hold = asyncio.Event()
    slow = channel(f"json://127.0.0.1:{port}/a", timeout=timedelta(milliseconds=300))
    send = AppriseNotifier(ManualClock(NOW), PUBLIC)
    try:
        # More hanging sends than the default executor has threads (min(32, cores + 4)).
        attempts = await asyncio.gather(*(send(slow, entry()) for _ in range(12)))
        assert all(not a.ok and a.transient for a in attempts)
        # The event loop's own executor (API rendering uses it) still answers at once.
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 1) == 42
    finally:
        found.hold.set()
