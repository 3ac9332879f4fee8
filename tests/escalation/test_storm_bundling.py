"""An alert storm through the real stage and delivery to a local receiver (both stores).

1,000 incidents page four people on two channels and a channel paged as itself within
one window: each person gets at most ``max`` messages and one bundled message per
channel and window, the channel too, and every incident reaches every recipient (in a
message of its own or listed in a bundle). Time moves on a ManualClock, one second per
round of stage and delivery passes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from core.clock import Clock
from core.incident import IncidentEvent
from core.store import CorrelationCommit, GroupHead, Store
from escalation.delivery import Backoff, OutboxDelivery
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import WebhookClient
from rules.channels import Channel, ChannelKind, WebhookConfig
from rules.credentials import Secret
from rules.model import Rules
from rules.notifications import Bundling, NotificationTuning
from rules.people import ContactMethod, Person
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from tests.contract.builders import make_incident
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    t,
)
from tocsin.escalation_metrics import EscalationMetrics

PEOPLE = ("ann", "bob", "cid", "dee")
CHANNELS = ("hook", "chat")
ROOM = "room"  # a channel the policy pages as itself
BUNDLE = Bundling(5, timedelta(minutes=1))
INCIDENTS = 1000

Serve = Callable[..., Awaitable[TestServer]]


@dataclass
class Receiver:
    """Counts what arrives, by recipient (person or None, channel), at the clock's time."""

    clock: Clock
    got: dict[tuple[str | None, str], list[tuple[datetime, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        who = (body["page"]["person"], body["page"]["channel"])
        self.got[who].append((self.clock.now(), body))
        return web.Response(status=200)

    def incidents(self, who: tuple[str | None, str]) -> set[str]:
        """The incidents that reached ``who``: paged alone or listed in a bundle."""
        found: set[str] = set()
        for _, body in self.got[who]:
            if body["type"] == "incident.bundle":
                found.update(b["incident"] for b in body["bundle"])
            else:
                found.add(body["incident"]["id"])
        return found


def storm_rules(base: Rules, url: str) -> Rules:
    """Channels hook, chat and room posting to ``url``; four people on hook and chat;
    one level paging them all and the room itself; bundling ``BUNDLE``."""

    def hook(name: str) -> Channel:
        config = WebhookConfig(Secret(url, "env:HOOK"), None, timedelta(seconds=5))
        return Channel(name, ChannelKind.WEBHOOK, config)

    people = {
        name: Person(name, name.title(), tuple(ContactMethod(c, f"{name}@{c}") for c in CHANNELS))
        for name in PEOPLE
    }
    targets = (
        *(Target(TargetKind.PERSON, name) for name in PEOPLE),
        Target(TargetKind.CHANNEL, ROOM),
    )
    policy = EscalationPolicy("web", "", (EscalationLevel(timedelta(hours=1), targets),), 0)
    return replace(
        base,
        channels={name: hook(name) for name in (*CHANNELS, ROOM)},
        people=people,
        escalation_policies={"web": policy},
        notifications=NotificationTuning(bundle=BUNDLE),
    )


async def open_many(world: World, numbers: range) -> list[str]:
    """Opens incidents ``numbers`` now in one commit (as correlation does in a storm)."""
    now = world.clock.now()
    incidents = [make_incident(n, opened_at=now, policy="web") for n in numbers]
    await world.store.commit(
        CorrelationCommit(
            "test",
            incidents=tuple(incidents),
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            events=tuple(
                IncidentEvent(i.id, now, "correlate", "opened", {"route": "{}"}) for i in incidents
            ),
        )
    )
    world.incidents.update((i.id, i) for i in incidents)
    return [i.id for i in incidents]


def most_in_a_window(times: list[datetime], window: timedelta) -> int:
    """The most messages within any ``window`` (sliding, from each message on)."""
    return max(sum(1 for other in times if start <= other < start + window) for start in times)


async def test_a_storm_gets_each_recipient_at_most_max_and_one_bundle_per_window(
    store: Store, aiohttp_server: Serve
) -> None:
    world = World(store)
    receiver = Receiver(world.clock)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    world.rules = storm_rules(world.rules, str(server.make_url("/hook")))
    stage = world.stage()
    registry = CollectorRegistry()
    opened: list[str] = []
    async with WebhookClient() as client:
        notifier = WebhookNotifier(client, world.clock, "http://tocsin.example")
        member = OutboxDelivery(
            store,
            lambda: world.rules,
            world.clock,
            {ChannelKind.WEBHOOK: notifier},
            rng=random.Random(7),
            backoff=Backoff(timedelta(seconds=1), timedelta(seconds=4)),
            metrics=EscalationMetrics(registry),
        )
        for second in range(200):
            world.clock.set(t(second))
            if second < 10:  # the storm: 100 new incidents a second
                opened += await open_many(world, range(second * 100, second * 100 + 100))
            await world.at(t(second), stage)
            while await member.step():
                pass

    recipients = [(p, c) for p in PEOPLE for c in CHANNELS] + [(None, ROOM)]
    assert len(opened) == INCIDENTS
    assert await world.outbox() == []  # nothing left waiting
    for who in recipients:
        times = [at for at, _ in receiver.got[who]]
        assert receiver.incidents(who) == set(opened), who
        assert most_in_a_window(times, BUNDLE.window) <= BUNDLE.max + 1, (who, len(times))
        bundles = [b for _, b in receiver.got[who] if b["type"] == "incident.bundle"]
        assert len(bundles) == 1, (who, len(bundles))  # the whole hold in one message
    # /metrics counts messages sent, and the entries bundled apart from them.
    sent = sum(len(got) for got in receiver.got.values())
    entries = INCIDENTS * len(recipients)

    def counted(outcome: str) -> float | None:
        labels = {"channel_kind": "webhook", "outcome": outcome}
        return registry.get_sample_value("tocsin_notifications_total", labels)

    assert counted("delivered") == sent
    assert counted("bundled") == entries - (sent - len(recipients))
