"""The stage's decisions and delivery's results in incidents' timelines, on both stores.

Notes are written in the same commit as the stage's cursor and documents (or delivery's
outbox writes): they move no incident version, never reach the incident event stream,
and a pass killed before its commit notes nothing. The metrics count a commit's notes
once it landed.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from core.incident import IncidentEvent
from core.store import Store
from escalation.delivery import Backoff, OutboxDelivery
from escalation.stage import EscalationStage
from escalation.state import LOG_KEPT, Decision, Escalation, Phase
from escalation.timeline import new_decisions
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import WebhookClient
from rules.channels import ChannelKind
from rules.people import ContactMethod, Person
from tests.contract.builders import T0
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    policy,
    t,
)
from tests.escalation.test_escalation_restart import killed_pass
from tests.escalation.test_escalation_webhook import (
    BASE_URL,
    Receiver,
    Serve,
    hooked_world,
    started,
)
from tocsin.escalation_metrics import EscalationMetrics

LEASE = timedelta(seconds=30)


def metered(world: World) -> tuple[EscalationStage, EscalationMetrics, CollectorRegistry]:
    """A stage member that tells fresh metrics."""
    registry = CollectorRegistry()
    metrics = EscalationMetrics(registry)
    stage = EscalationStage(world.store, lambda: world.rules, world.clock, "m1", metrics=metrics)
    return stage, metrics, registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A sample's value (0 when absent)."""
    return registry.get_sample_value(name, labels) or 0.0


async def notes(store: Store, incident_id: str) -> list[IncidentEvent]:
    """The incident's timeline entries written by escalation (not the incident's events)."""
    return [e for e in await store.incident_events(incident_id) if e.actor != "ann"][1:]


def kinds(events: list[IncidentEvent]) -> list[str]:
    return [e.kind for e in events]


async def test_each_decision_and_page_is_noted_without_a_version_or_a_stream_event(
    store: Store,
) -> None:
    world = World(store)
    stage, _, registry = metered(world)
    incident = await world.open()

    await world.at(t(0), stage)
    await world.at(t(30), stage)
    await world.at(t(330), stage)

    noted = await notes(store, incident)
    assert kinds(noted) == ["escalation_started", "paged", "paged"]
    assert noted[0].actor == "escalation"
    assert "policy web copied" in noted[0].detail["reason"]
    assert noted[1].at == t(30)
    assert noted[1].detail == {
        "key": f"{incident}:1:0:0:ann:hook",
        "person": "ann",
        "channel": "hook",
        "message": "page",
        "level": 1,
        "repeat": 0,
        "send_at": "2024-03-10T02:00:29.123456Z",
    }
    assert (noted[2].detail["person"], noted[2].detail["level"]) == ("bob", 2)
    # Notes are no change of the incident: its version and the stream stay as they were.
    held = await store.get_incident(incident)
    assert held is not None
    assert held.version == 1
    audit = await store.claim_events("audit", "a", 100, now=T0, lease=LEASE)
    assert [e.kind for e in audit.events] == ["opened"]
    assert sample(registry, "tocsin_escalation_pages_total") == 2


async def test_a_decision_not_to_page_is_noted_with_its_reason_and_counted(store: Store) -> None:
    world = World(store)
    stage, _, registry = metered(world)
    incident = await world.open()
    await world.at(t(0), stage)
    await world.change(incident, "muted", muted=True)

    await world.at(t(30), stage)
    await world.acknowledge(incident)
    await world.at(t(40), stage)

    noted = await notes(store, incident)
    assert kinds(noted) == ["escalation_started", "not_paged", "escalation_stopped"]
    assert noted[1].detail["code"] == "muted"
    assert noted[1].detail["reason"].startswith("muted: level 1 not paged")
    assert noted[2].detail["decision"] == "acknowledged"
    assert sample(registry, "tocsin_escalation_not_paged_total", reason="muted") == 1
    assert sample(registry, "tocsin_escalation_pages_total") == 0


async def test_a_decision_is_noted_when_the_pass_makes_it_so_the_timeline_reads_in_order(
    store: Store,
) -> None:
    world = World(store)
    stage, _, _ = metered(world)
    incident = await world.open()
    await world.at(t(0), stage)
    world.clock.set(t(30))
    await world.acknowledge(incident)
    world.clock.set(t(35))
    await world.change(incident, "assigned")  # a person works on before the stage's pass

    await world.at(t(40), stage)

    timeline = await store.incident_events(incident)
    assert kinds(timeline)[-3:] == ["acknowledged", "assigned", "escalation_stopped"]
    assert timeline[-1].at == t(40)  # not the acknowledgement's t(30), before "assigned"
    times = [e.at for e in timeline]
    assert times == sorted(times)


async def test_a_contact_method_with_a_delay_is_noted_as_scheduled(store: Store) -> None:
    world = World(store)
    ann = Person(
        "ann",
        "Ann",
        (ContactMethod("hook", "a@x"), ContactMethod("hook2", "a2@x", timedelta(minutes=2))),
    )
    world.rules = replace(
        world.rules,
        people={**world.rules.people, "ann": ann},
        channels={
            **world.rules.channels,
            "hook2": replace(world.rules.channels["hook"], name="hook2"),
        },
    )
    incident = await world.open()

    await world.at(t(30))

    noted = await notes(store, incident)
    assert [(e.kind, e.detail["channel"]) for e in noted[1:]] == [
        ("paged", "hook"),
        ("page_scheduled", "hook2"),
    ]
    assert noted[2].detail["send_at"] == "2024-03-10T02:02:29.123456Z"


async def test_a_pass_killed_before_its_commit_notes_nothing_and_its_successor_once(
    store: Store,
) -> None:
    world = World(store)
    stage, _, registry = metered(world)
    incident = await world.open()
    world.clock.set(t(30))

    await killed_pass(world, store)

    assert await notes(store, incident) == []
    assert sample(registry, "tocsin_escalation_pages_total") == 0
    await world.at(t(30), stage)
    await world.at(t(31), stage)  # nothing new: nothing noted again
    assert kinds(await notes(store, incident)) == ["escalation_started", "paged"]
    assert sample(registry, "tocsin_escalation_pages_total") == 1


async def test_a_rules_reload_during_an_escalation_is_noted(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    world.rules = replace(world.rules, escalation_policies={"web": policy(repeat=2)})

    await world.at(t(330))

    assert kinds(await notes(store, incident))[-2:] == ["paged", "rules_reloaded"]


def ticking() -> Any:
    """A timer whose every attempt takes 0.25 s."""
    ticks = itertools.count()
    return lambda: next(ticks) * 0.25


async def delivery(
    world: World, client: WebhookClient, metrics: EscalationMetrics
) -> OutboxDelivery:
    return OutboxDelivery(
        world.store,
        lambda: world.rules,
        world.clock,
        {ChannelKind.WEBHOOK: WebhookNotifier(client, world.clock, BASE_URL)},
        rng=random.Random(7),
        backoff=Backoff(timedelta(seconds=1), timedelta(seconds=60), max_attempts=3),
        metrics=metrics,
        timer=ticking(),
    )


async def test_delivery_results_are_noted_and_counted(store: Store, aiohttp_server: Serve) -> None:
    receiver = Receiver([503])
    world = hooked_world(store, await started(aiohttp_server, receiver))
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))
    registry = CollectorRegistry()
    metrics = EscalationMetrics(registry)

    async with WebhookClient() as client:
        sender = await delivery(world, client, metrics)
        await sender.step()
        failed_at = world.clock.now()
        world.clock.advance(timedelta(seconds=60))
        await sender.step()

    failed, succeeded = (await notes(store, incident))[-2:]
    assert (failed.kind, failed.actor, failed.at) == ("delivery_failed", "delivery", failed_at)
    assert failed.detail["outcome"] == "retrying"
    assert failed.detail["status"] == 503
    assert failed.detail["attempt"] == 1
    assert failed.detail["channel_kind"] == "webhook"
    assert failed.detail["will_retry_at"] is not None
    assert failed.detail["seconds"] == 0.25
    assert succeeded.kind == "delivery_succeeded"
    assert (succeeded.detail["outcome"], succeeded.detail["attempt"]) == ("delivered", 2)
    assert succeeded.detail["will_retry_at"] is None
    held = await store.get_incident(incident)
    assert held is not None
    assert held.version == 1
    count = "tocsin_notifications_total"
    assert sample(registry, count, channel_kind="webhook", outcome="retrying") == 1
    assert sample(registry, count, channel_kind="webhook", outcome="delivered") == 1
    seconds = "tocsin_notification_delivery_seconds"
    assert sample(registry, f"{seconds}_count", channel_kind="webhook") == 2
    assert sample(registry, f"{seconds}_sum", channel_kind="webhook") == 0.5


async def test_a_given_up_delivery_is_noted_as_failed_without_a_retry(
    store: Store, aiohttp_server: Serve
) -> None:
    receiver = Receiver([400])
    world = hooked_world(store, await started(aiohttp_server, receiver))
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))
    registry = CollectorRegistry()

    async with WebhookClient() as client:
        await (await delivery(world, client, EscalationMetrics(registry))).step()

    failed = (await notes(store, incident))[-1]
    assert failed.kind == "delivery_failed"
    assert (failed.detail["outcome"], failed.detail["status"]) == ("failed", 400)
    assert failed.detail["will_retry_at"] is None
    labels = {"channel_kind": "webhook", "outcome": "failed"}
    assert sample(registry, "tocsin_notifications_total", **labels) == 1


async def test_an_entry_of_a_channel_gone_from_the_rules_is_noted_failed(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    world.rules = replace(world.rules, channels={})
    registry = CollectorRegistry()
    sender = OutboxDelivery(
        store, lambda: world.rules, world.clock, {}, metrics=EscalationMetrics(registry)
    )

    await sender.step()

    failed = (await notes(store, incident))[-1]
    assert failed.detail["channel_kind"] == "unknown"
    assert failed.detail["error"] == "channel hook is not in the rules"
    labels = {"channel_kind": "unknown", "outcome": "failed"}
    assert sample(registry, "tocsin_notifications_total", **labels) == 1


async def test_a_delivery_whose_commit_fails_notes_and_counts_nothing(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    world.rules = replace(world.rules, channels={})  # given up at once, no receiver needed
    registry = CollectorRegistry()
    sender = OutboxDelivery(
        store, lambda: world.rules, world.clock, {}, metrics=EscalationMetrics(registry)
    )

    async def dies(commit: Any) -> None:
        raise asyncio.CancelledError  # killed before its write

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "commit", dies)
        with pytest.raises(asyncio.CancelledError):
            await sender.step()

    assert kinds(await notes(store, incident)) == ["escalation_started", "paged"]
    assert (
        sample(registry, "tocsin_notifications_total", channel_kind="unknown", outcome="failed")
        == 0
    )
    await sender.step()  # the entry is still due: attempted again, noted once
    assert kinds(await notes(store, incident))[-1] == "delivery_failed"
    assert (
        sample(registry, "tocsin_notifications_total", channel_kind="unknown", outcome="failed")
        == 1
    )


def test_new_decisions_are_found_past_the_logs_cap() -> None:
    def logged(*numbers: int) -> Escalation:
        log = tuple(Decision(t(n), "not_paged", f"reason {n}") for n in numbers)
        return Escalation(
            "i", None, Phase.PAGING, 1, 0, 0, None, "triggered", False, False, log=log
        )

    full = range(LOG_KEPT)
    cases = [
        # Nothing before: every decision is new.
        (None, logged(1, 2), [1, 2]),
        # Appended below the cap.
        (logged(1, 2), logged(1, 2, 3), [3]),
        # At the cap: the oldest two dropped for two new ones.
        (logged(*full), logged(*full[2:], 100, 101), [100, 101]),
        # Unchanged.
        (logged(*full), logged(*full), []),
    ]
    for before, after, expected in cases:
        found = new_decisions(before, after)
        assert [int(d.reason.split()[-1]) for d in found] == expected
