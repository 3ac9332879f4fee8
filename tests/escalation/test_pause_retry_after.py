"""A paused channel honours the receiver's Retry-After: the next probe waits at least that
long (review 11 finding 5). The Slack notifier against a local stand-in for Slack's
incoming webhook, on both stores, time on a ManualClock."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.store import CorrelationCommit, Store
from core.store.events import ConsumerWrite
from escalation.delivery import Backoff, OutboxDelivery
from escalation.page import OUTBOX, Page
from escalation.pausing import CHANNELS, ChannelState, after
from escalation.slack import SlackNotifier
from rules.channels import Channel, ChannelKind, SlackConfig
from rules.credentials import Secret
from rules.notifications import NotificationTuning, Pausing
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    t,
)

PAUSE = Pausing(2, timedelta(seconds=30), timedelta(minutes=10))
HOUR = timedelta(hours=1)
Serve = Callable[..., Awaitable[TestServer]]


@dataclass
class FakeSlack:
    """Slack's incoming webhook: answers ``answers`` in turn, then 200 "ok"."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    calls: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        return web.Response(status=status, text="ok" if status == 200 else "", headers=headers)


async def put(store: Store, n: int, at: datetime) -> str:
    """An entry paging channel ``ops`` itself about incident ``n``, due at ``at``."""
    page = Page(
        f"inc-{n:04d}", 1, 0, 0, None, "ops", "", at, f"T{n}", "triggered", "P2", "checkout"
    )
    write = ConsumerWrite(OUTBOX, page.key, page.to_document(), page.send_at)
    await store.commit(CorrelationCommit("test", documents=(write,)))
    return page.key


def test_a_pause_lasts_at_least_the_retry_after_of_the_failure_that_began_it() -> None:
    failing = ChannelState(failures=1)

    change = after(failing, False, "HTTP 429", PAUSE, t(0), retry_after=HOUR)
    shorter = after(failing, False, "HTTP 429", PAUSE, t(0), retry_after=timedelta(seconds=5))

    assert change.what == "channel_paused"
    assert change.state.paused_until == t(0) + HOUR
    assert change.state.backoff == PAUSE.backoff  # the doubling goes on from the rules'
    assert shorter.state.paused_until == t(30)  # the backoff is longer: it decides


async def test_a_probe_answered_429_retry_after_waits_that_long_before_the_next(
    store: Store, aiohttp_server: Serve
) -> None:
    slack = FakeSlack([(503, {}), (503, {}), (429, {"Retry-After": "3600"})])
    app = web.Application()
    app.router.add_post("/services/T0/B0/x", slack.handle)
    url = str((await aiohttp_server(app)).make_url("/services/T0/B0/x"))
    world = World(store)
    ops = Channel("ops", ChannelKind.SLACK, SlackConfig(Secret(url, "env:SLACK_URL")))
    world.rules = replace(
        world.rules, channels={"ops": ops}, notifications=NotificationTuning(pause=PAUSE)
    )
    keys = [await put(store, n, t(0)) for n in range(2)]
    async with aiohttp.ClientSession() as session:
        member = OutboxDelivery(
            store,
            lambda: world.rules,
            world.clock,
            {ChannelKind.SLACK: SlackNotifier(session, "http://tocsin.example")},
            rng=random.Random(7),
            backoff=Backoff(timedelta(seconds=1), timedelta(seconds=4), max_attempts=50),
        )
        world.clock.set(t(0))
        await member.step()  # two 503s: paused for the backoff, 30 s
        first = member.channel_states()["ops"]
        world.clock.set(t(30))
        await member.step()  # the probe: 429, Retry-After an hour
        probed = slack.calls
        again = member.channel_states()["ops"]
        for at in (t(90), t(30) + HOUR - timedelta(seconds=1)):
            world.clock.set(at)
            await member.step()
        waited = slack.calls
        stored = await store.consumer_documents(CHANNELS, ["ops"])
        world.clock.set(t(30) + HOUR)
        await member.step()  # the next probe gets through
        world.clock.set(t(90) + HOUR)
        await member.step()  # then the entry that waited for it

    assert first.paused_until == t(30)
    assert probed == 3
    assert again.paused_until == t(30) + HOUR
    assert ChannelState.from_document(stored["ops"]).paused_until == t(30) + HOUR
    assert waited == 3  # no probe before the hour the receiver asked for
    assert not member.channel_states()["ops"].paused
    for key in keys:
        document = (await store.consumer_documents(OUTBOX, [key]))[key]
        assert document["status"] == "delivered"
