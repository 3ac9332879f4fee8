"""Escalating by hand and the acknowledgement timeout, through the lifecycle, on both stores.

Policy ``web`` pages ann (level 1, 5 minutes) then bob (level 2, 10 minutes); group_wait
30 s. A person's ``escalate`` and Tocsin's ``retrigger`` are real lifecycle transitions
written to the store; the stage reads their events from the incident event stream.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.incident import IncidentState
from core.lifecycle import Actor, LifecyclePolicy, apply
from core.lifecycle_requests import Escalate
from core.roles import Role
from core.store import Store, incident_change
from escalation.retrigger import retrigger
from escalation.state import Phase
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    page,
    policy,
    t,
)

BEA = Actor("bea", Role.RESPONDER)


async def escalate(world: World, incident_id: str) -> None:
    """Bea escalates the incident now, as the API does (read, lifecycle, compare-and-set)."""
    summary = await world.store.incident_summary(incident_id)
    assert summary is not None
    incident = summary.incident
    changed = apply(incident, Escalate("ann is asleep"), BEA, world.clock.now(), LifecyclePolicy())
    written = replace(changed.incident, version=incident.version + 1)
    await world.store.commit(
        incident_change(written, changed.event, counts=(summary.alerts, summary.firing))
    )
    world.incidents[incident_id] = written


async def test_escalating_pages_the_next_level_now_and_once(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))  # ann paged, bob due at t(330)

    world.clock.set(t(60))
    await escalate(world, incident)
    await world.at(t(60))
    now = await world.outbox()
    await world.at(t(330))  # the timer of generation 1 is stale: bob is not paged again

    assert now == [page(incident, 1, 0, 0, "ann"), page(incident, 2, 1, 0, "bob")]
    assert await world.outbox() == now
    escalation = await world.escalation(incident)
    assert escalation.phase is Phase.EXHAUSTED  # bob was the last level, repeat 0
    assert [d.what for d in escalation.log][-2:] == ["escalated", "paged"]


async def test_escalating_an_acknowledged_incident_triggers_it_again(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(60))
    await world.acknowledge(incident)
    await world.at(t(60))

    world.clock.set(t(90))
    await escalate(world, incident)
    await world.at(t(90))

    stored = await store.get_incident(incident)
    assert stored is not None
    assert (stored.state, stored.acknowledged_at) == (IncidentState.TRIGGERED, None)
    # Acknowledging made generation 2; escalating generation 3, at bob's level.
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 3, 1, 0, "bob")]


async def test_escalating_without_a_policy_pages_nobody_and_says_why(store: Store) -> None:
    world = World(store)
    world.rules = replace(world.rules, escalation_policies={})  # "web" names nothing now
    incident = await world.open()
    await world.at(t(30))

    await escalate(world, incident)
    await world.at(t(31))

    assert await world.outbox() == []
    last = (await world.escalation(incident)).log[-1]
    assert (last.what, last.reason) == (
        "not_paged",
        "escalated by bea, but no escalation policy runs: nobody is paged",
    )


async def test_the_acknowledgement_timeout_triggers_the_incident_again(store: Store) -> None:
    world = World(store, rules=make_rules(policy(ack_timeout=timedelta(minutes=30))))
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(60))
    await world.acknowledge(incident)

    await world.at(t(60 + 1800))

    stored = await store.get_incident(incident)
    assert stored is not None
    assert stored.state is IncidentState.TRIGGERED
    events = await store.incident_events(incident)
    retriggered = [e for e in events if e.kind == "retriggered"]
    assert [(e.actor, e.at, e.detail["from"], e.detail["to"]) for e in retriggered] == [
        ("tocsin", t(60 + 1800), "acknowledged", "triggered")
    ]
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 3, 0, 0, "ann")]


async def test_a_new_acknowledgement_restarts_the_timeout(store: Store) -> None:
    world = World(store, rules=make_rules(policy(ack_timeout=timedelta(minutes=30))))
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(60))
    await world.acknowledge(incident)
    await world.at(t(60 + 1800))  # re-triggered and ann paged again
    world.clock.set(t(60 + 1830))
    stored = await store.get_incident(incident)
    assert stored is not None
    world.incidents[incident] = stored  # the re-trigger wrote a version the world did not
    await world.acknowledge(incident)

    await world.at(t(60 + 1830 + 1799))
    still = await store.get_incident(incident)
    await world.at(t(60 + 1830 + 1800))
    again = await store.get_incident(incident)

    assert still is not None
    assert again is not None
    assert (still.state, again.state) == (IncidentState.ACKNOWLEDGED, IncidentState.TRIGGERED)
    assert await world.outbox() == [
        page(incident, 1, 0, 0, "ann"),
        page(incident, 3, 0, 0, "ann"),
        page(incident, 5, 0, 0, "ann"),
    ]


async def test_retrigger_is_idempotent_and_respects_a_newer_acknowledgement(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    world.clock.set(t(60))
    await world.acknowledge(incident)
    timeout = timedelta(minutes=30)

    early = await retrigger(store, incident, timeout, t(60 + 1799), LifecyclePolicy())
    first = await retrigger(store, incident, timeout, t(60 + 1800), LifecyclePolicy())
    again = await retrigger(store, incident, timeout, t(60 + 1801), LifecyclePolicy())

    assert (early, first, again) == (False, True, False)
    events = await store.incident_events(incident)
    assert [e.kind for e in events].count("retriggered") == 1
