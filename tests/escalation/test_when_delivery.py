"""Delivery: stale pages dropped, failing channels paused and probed, slow channels in
their own lanes, bundling of a flooded person (both stores, ManualClock).

The notifier is a fake that records what it was asked to send: these tests are about
what delivery decides, the notifiers have their own tests against real receivers.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.store import CorrelationCommit, Store
from core.store.events import ConsumerWrite, TimelineNote
from escalation.bundling import HELD
from escalation.delivery import Attempt, Backoff, OutboxDelivery
from escalation.page import OUTBOX, Page
from escalation.pausing import CHANNELS
from rules.channels import Channel, ChannelKind, WebhookConfig
from rules.credentials import Secret
from rules.notifications import Bundling, NotificationTuning, Pausing
from rules.people import ContactMethod
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    page,
    t,
)
from tests.support import poll_until

PAUSE = Pausing(3, timedelta(seconds=30), timedelta(minutes=2))


@dataclass
class Fake:
    """A notifier per channel name: fails, waits on a gate, or delivers."""

    failing: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)  # answer 400: given up at once
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)

    async def __call__(self, channel: Channel, entry: Any) -> Attempt:
        name = channel.name
        self.calls[name] += 1
        self.in_flight[name] += 1
        self.peak[name] = max(self.peak[name], self.in_flight[name])
        try:
            gate = self.gates.get(name)
            if gate is not None:
                await gate.wait()
            if name in self.failing:
                return Attempt(False, 503, "HTTP 503", True)
            if name in self.broken:
                return Attempt(False, 400, "HTTP 400", False)
            self.sent.append((name, dict(entry)))
            return Attempt(True, 200, None, False)
        finally:
            self.in_flight[name] -= 1


def webhook(name: str, timeout: timedelta = timedelta(seconds=5)) -> Channel:
    """A webhook channel (the fake notifier never posts)."""
    config = WebhookConfig(Secret("http://127.0.0.1:1/", "env:HOOK"), None, timeout)
    return Channel(name, ChannelKind.WEBHOOK, config)


def with_channels(world: World, *channels: Channel, tuning: NotificationTuning) -> None:
    """Adds the channels and the notifications tuning to the world's rules."""
    added = {c.name: c for c in channels}
    world.rules = replace(
        world.rules, channels={**world.rules.channels, **added}, notifications=tuning
    )


@dataclass
class Noted:
    """The timeline notes delivery committed (as metrics are told them)."""

    notes: list[TimelineNote] = field(default_factory=list)

    def observe(self, notes: Sequence[TimelineNote]) -> None:
        self.notes.extend(notes)

    def of(self, kind: str, incident: str | None = None) -> list[TimelineNote]:
        return [n for n in self.notes if n.kind == kind and incident in (None, n.incident_id)]


def delivery(world: World, fake: Fake, noted: Noted | None = None) -> OutboxDelivery:
    """Delivery of the world's outbox through the fake, with a short, seeded backoff."""
    return OutboxDelivery(
        world.store,
        lambda: world.rules,
        world.clock,
        {ChannelKind.WEBHOOK: fake},
        rng=random.Random(7),
        backoff=Backoff(timedelta(seconds=1), timedelta(seconds=4), max_attempts=50),
        metrics=noted or Noted(),
    )


async def put(
    store: Store, n: int, channel: str, person: str | None, at: datetime, incident: str = ""
) -> str:
    """Puts a pending outbox entry (generation 1, level 1) due at ``at``; returns its key."""
    entry = Page(
        incident or f"inc-{n:04d}", 1, 0, 0, person, channel, "addr", at, f"T{n}", "triggered",
        "P2", "checkout",
    )  # fmt: skip
    write = ConsumerWrite(OUTBOX, entry.key, entry.to_document(), entry.send_at)
    await store.commit(CorrelationCommit("test", documents=(write,)))
    return entry.key


async def stored(store: Store, key: str) -> dict[str, Any]:
    """The outbox entry under ``key``."""
    return (await store.consumer_documents(OUTBOX, [key]))[key]


async def test_a_failing_channel_pauses_its_entries_wait_and_a_probe_resumes_it(
    store: Store,
) -> None:
    world = World(store)
    with_channels(world, webhook("bad"), webhook("good"), tuning=NotificationTuning(pause=PAUSE))
    fake = Fake(failing={"bad"})
    noted = Noted()
    member = delivery(world, fake, noted)
    failed = [await put(store, n, "bad", None, t(0)) for n in range(3)]
    good = await put(store, 9, "good", None, t(0))

    world.clock.set(t(0))
    await member.step()
    paused = member.channel_states()["bad"]
    waiting = await put(store, 5, "bad", None, t(1))
    for second in (1, 5, 10, 29):  # the retries fall due, and wait too
        world.clock.set(t(second))
        await member.step()
    calls_while_paused = fake.calls["bad"]
    waited = await stored(store, waiting)

    world.clock.set(t(30))  # one probe, failing: paused twice as long
    await member.step()
    probed = fake.calls["bad"]
    again = member.channel_states()["bad"]
    fake.failing.clear()
    # A new member (a restart) knows the pause from the store.
    restarted = delivery(world, fake)
    world.clock.set(t(89))
    await restarted.step()
    still_paused = fake.calls["bad"]
    world.clock.set(t(90))
    await restarted.step()  # the probe gets through
    resumed = restarted.channel_states()["bad"]
    world.clock.set(t(200))
    await restarted.step()

    assert paused.paused_until == t(30)
    assert paused.failures == 3
    assert (await stored(store, good))["status"] == "delivered"  # the others went on
    assert calls_while_paused == 3
    assert (waited["status"], waited["attempts"]) == ("pending", 0)  # waits, uncounted
    assert probed == 4
    assert again.paused_until == t(90)
    assert again.backoff == timedelta(minutes=1)
    assert still_paused == 4
    assert not resumed.paused
    assert resumed.failures == 0
    for key in [*failed, waiting]:
        assert (await stored(store, key))["status"] == "delivered"
    assert (await store.consumer_documents(CHANNELS, ["bad"]))["bad"]["paused_until"] is None
    # Paused: noted on the failing incidents' timelines, and once on the waiting one's.
    assert len(noted.of("channel_paused", "inc-0005")) == 1  # once for this pause
    assert {n.incident_id for n in noted.of("channel_paused")} >= {"inc-0000", "inc-0005"}


async def test_a_slow_channel_holds_up_only_itself_within_its_concurrency(store: Store) -> None:
    world = World(store)
    tuning = NotificationTuning(concurrency=2)
    with_channels(world, webhook("slow"), webhook("fast"), tuning=tuning)
    fake = Fake(gates={"slow": asyncio.Event()})
    member = delivery(world, fake)
    slow = [await put(store, n, "slow", None, t(0)) for n in range(5)]
    fast = await put(store, 9, "fast", None, t(0))
    world.clock.set(t(0))

    await member.dispatch()

    async def fast_delivered() -> bool | None:
        return (await stored(store, fast))["status"] == "delivered" or None

    await poll_until(fast_delivered, 10, interval=0.01)
    in_flight = fake.in_flight["slow"]
    fake.gates["slow"].set()
    await member.step()

    assert in_flight == 2  # bounded: two at once, the rest queued in the lane
    assert fake.peak["slow"] == 2
    for key in slow:
        assert (await stored(store, key))["status"] == "delivered"


async def test_a_send_past_its_channel_timeout_is_retried(store: Store) -> None:
    world = World(store)
    with_channels(
        world, webhook("stuck", timeout=timedelta(milliseconds=50)), tuning=NotificationTuning()
    )
    fake = Fake(gates={"stuck": asyncio.Event()})  # never set: the receiver never answers
    member = delivery(world, fake)
    key = await put(store, 1, "stuck", None, t(0))
    world.clock.set(t(0))

    await member.step()

    entry = await stored(store, key)
    assert entry["status"] == "retrying"
    assert "no answer within" in entry["results"][-1]["error"]


async def test_a_flooded_person_gets_one_bundled_message_at_the_window_end(store: Store) -> None:
    world = World(store)
    tuning = NotificationTuning(bundle=Bundling(5, timedelta(minutes=1)))
    with_channels(world, tuning=tuning)
    fake = Fake()
    noted = Noted()
    member = delivery(world, fake, noted)
    keys = [await put(store, n, "hook", "ann", t(0)) for n in range(8)]
    world.clock.set(t(0))
    await member.step()
    held = [await stored(store, k) for k in keys]
    late = await put(store, 20, "hook", "ann", t(10))
    other = await put(store, 21, "hook", "bob", t(10))  # bob is not flooded
    world.clock.set(t(10))
    await member.step()
    world.clock.set(t(59))
    await member.step()
    before_end = len(fake.sent)
    world.clock.set(t(60))
    await member.step()

    assert [e["status"] for e in held].count("delivered") == 5
    assert [e["status"] for e in held].count(HELD) == 3
    assert before_end == 6  # five of ann's, bob's one
    bundle = fake.sent[-1][1]
    assert len(fake.sent) == 7
    assert bundle["kind"] == "bundle"
    assert len(bundle["bundle"]) == 4
    assert len(bundle["incidents"]) == 4
    for key in [*keys, late, other]:
        entry = await stored(store, key)
        assert entry["status"] == "delivered"
    assert (await stored(store, late))["bundled_in"] == bundle["key"]
    held_notes = noted.of("not_paged")
    assert len(held_notes) == 4  # each held entry once, saying why and until when
    assert all("bundled: ann had 5 messages on hook" in n.detail["reason"] for n in held_notes)
    assert {n.detail["code"] for n in held_notes} == {"bundled"}


async def test_a_page_made_stale_by_an_acknowledgement_is_dropped_at_delivery(
    store: Store,
) -> None:
    world = World(store)
    ann = world.rules.people["ann"]
    pager = ContactMethod("hook", "ann-pager", timedelta(minutes=10))
    bob_pager = replace(world.rules.channels["hook"], name="pager")
    world.rules = replace(
        world.rules,
        channels={**world.rules.channels, "pager": bob_pager},
        people={
            **world.rules.people,
            "ann": replace(ann, contacts=(*ann.contacts, replace(pager, channel="pager"))),
        },
    )
    fake = Fake()
    member = delivery(world, fake)
    incident = await world.open()
    await world.at(t(30))
    await member.step()
    world.clock.set(t(60))
    await world.acknowledge(incident)
    await world.at(t(60))

    world.clock.set(t(30) + timedelta(minutes=10))
    await member.step()

    dropped = await stored(store, f"{incident}:1:0:0:ann:pager")
    assert [c for c, _ in fake.sent] == ["hook"]  # the pager was never sent
    assert dropped["status"] == "dropped"
    assert "stale page" in dropped["results"][-1]["error"]
    assert (await stored(store, page(incident, 1, 0, 0, "ann")))["status"] == "delivered"
    timeline = await store.incident_events(incident)
    assert any(e.kind == "not_paged" and "stale page" in e.detail["reason"] for e in timeline)


async def test_an_update_waits_for_its_page_and_is_dropped_if_the_page_never_got_through(
    store: Store,
) -> None:
    world = World(store)
    fake = Fake(failing={"hook"})
    member = delivery(world, fake)
    incident = await world.open()
    await world.at(t(30))
    await member.step()  # ann's page: 503, retried
    world.clock.set(t(40))
    await world.change(incident, "alerts_joined")
    await world.at(t(330))
    await member.step()  # the update waits: the page is still on its way
    waiting = await stored(store, f"{incident}:update1:ann:hook")
    fake.failing.clear()
    for second in (340, 350):
        world.clock.set(t(second))
        await member.step()

    sent = [e["key"] for _, e in fake.sent]
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    assert sent.count(f"{incident}:update1:ann:hook") == 1
    # Ann hears of the update only after her page got through.
    assert sent.index(page(incident, 1, 0, 0, "ann")) < sent.index(f"{incident}:update1:ann:hook")


async def test_an_update_to_someone_whose_page_failed_is_dropped(store: Store) -> None:
    world = World(store)
    fake = Fake(broken={"hook"})
    member = delivery(world, fake)
    incident = await world.open()
    await world.at(t(30))
    await member.step()  # ann's page: 400, given up
    world.clock.set(t(40))
    await world.change(incident, "alerts_joined")
    await world.at(t(330))
    await member.step()

    dropped = await stored(store, f"{incident}:update1:ann:hook")
    assert fake.calls["hook"] == 2  # the pages of ann and of bob (level 2): no update
    assert dropped["status"] == "dropped"
    assert "never got through" in dropped["results"][-1]["error"]
