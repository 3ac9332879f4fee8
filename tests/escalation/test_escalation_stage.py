"""The escalation stage on a real store: when it pages, when it does not, and why.

Policy ``web`` pages ann (level 1, 5 minutes) then bob (level 2, 10 minutes); the route's
group_wait is 30 s. Outbox keys are ``incident:generation:level:repeat:person:channel``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.incident import IncidentState
from core.store import Store
from escalation.state import Phase
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    page,
    policy,
    t,
)


async def test_the_first_page_waits_for_group_wait(store: Store) -> None:
    world = World(store)
    incident = await world.open()

    await world.at(t(29))
    before = await world.outbox()
    await world.at(t(30))

    assert before == []
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]


async def test_the_next_level_is_paged_after_the_level_delay(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))

    await world.at(t(30 + 299))
    before = await world.outbox()
    await world.at(t(30 + 300))

    assert before == [page(incident, 1, 0, 0, "ann")]
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 1, 1, 0, "bob")]


async def test_the_policy_repeats_n_times_then_stops(store: Store) -> None:
    world = World(store, rules=make_rules(policy(repeat=2)))
    incident = await world.open()

    for at in range(30, 30 + 15 * 60 * 4, 60):  # four whole cycles, a minute at a time
        await world.at(t(at))

    expected = sorted(
        page(incident, 1, level, repeat, person)
        for repeat in range(3)
        for level, person in ((0, "ann"), (1, "bob"))
    )
    assert await world.outbox() == expected
    assert (await world.escalation(incident)).phase is Phase.EXHAUSTED


async def test_a_muted_incident_pages_nobody_then_at_once_when_unmuted(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.change(incident, "silenced", muted=True)

    await world.at(t(600))
    while_muted = await world.outbox()
    await world.change(incident, "unsilenced", muted=False)
    await world.at(t(600))

    assert while_muted == []
    escalation = await world.escalation(incident)
    assert [d.what for d in escalation.log].count("not_paged") == 1
    assert "muted" in next(d.reason for d in escalation.log if d.what == "not_paged")
    assert await world.outbox() == [page(incident, 2, 0, 0, "ann")]


async def test_a_held_incident_pages_nobody_until_released(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.change(incident, "held", held=True)

    await world.at(t(60))
    while_held = await world.outbox()
    await world.change(incident, "released", held=False)
    await world.at(t(60))

    assert while_held == []
    assert await world.outbox() == [page(incident, 2, 0, 0, "ann")]


async def test_acknowledging_stops_escalation(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    await world.acknowledge(incident)

    await world.at(t(30 + 3600))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    assert (await world.escalation(incident)).phase is Phase.ACKNOWLEDGED


async def test_the_acknowledgement_timeout_pages_again_from_level_one(store: Store) -> None:
    world = World(store, rules=make_rules(policy(ack_timeout=timedelta(minutes=30))))
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(60))
    await world.acknowledge(incident)

    await world.at(t(60 + 1799))
    before = await world.outbox()
    await world.at(t(60 + 1800))

    assert before == [page(incident, 1, 0, 0, "ann")]
    # Acknowledging made generation 2; the timeout restarts in generation 3.
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 3, 0, 0, "ann")]


async def test_resolving_stops_everything(store: Store) -> None:
    world = World(store, rules=make_rules(policy(repeat=3, ack_timeout=timedelta(minutes=1))))
    incident = await world.open()
    await world.at(t(30))
    await world.resolve(incident)

    await world.at(t(86400))

    # No page after it; ann, paged, is told it resolved (send_resolved, escalation.updates).
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), f"{incident}:update1:ann:hook"]
    escalation = await world.escalation(incident)
    assert (escalation.phase, escalation.due) == (Phase.STOPPED, None)


async def test_a_stale_timer_does_nothing(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    # The level-2 timer (generation 1) is due at 330 s; the acknowledgement comes in the
    # same pass, so the stage sees the timer of generation 1 after the event made 2.
    world.clock.set(t(400))
    await world.acknowledge(incident)

    await world.at(t(400))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    assert (await world.escalation(incident)).generation == 2


async def test_a_rules_reload_keeps_the_copied_policy_and_is_recorded(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    # The reload drops level 2 and makes level 1 wait an hour.
    only_ann = replace(policy(), levels=(replace(policy().levels[0], delay=timedelta(hours=1)),))
    world.rules = make_rules(only_ann)

    await world.at(t(30 + 300))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 1, 1, 0, "bob")]
    escalation = await world.escalation(incident)
    assert escalation.policy is not None
    assert len(escalation.policy.levels) == 2
    assert "rules_reloaded" in [d.what for d in escalation.log]


async def test_reopening_pages_again_from_level_one(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    await world.resolve(incident)
    world.clock.set(t(100))
    await world.change(incident, "reopened", state=IncidentState.TRIGGERED)

    await world.at(t(100))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 3, 0, 0, "ann")]
