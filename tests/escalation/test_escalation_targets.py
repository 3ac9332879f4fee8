"""Who one level pages: people's contact methods in order, channels, schedules, teams.

And the outbox's idempotency: an entry already stored is never written again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from core.store import CorrelationCommit, Store
from core.store.events import ConsumerWrite
from escalation.page import OUTBOX
from rules.people import ContactMethod, Person, Team
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.schedules import Schedule
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    page,
    t,
)


def one_level(*targets: Target) -> EscalationPolicy:
    """Policy ``web`` with one level of ``targets``."""
    return EscalationPolicy("web", "", (EscalationLevel(timedelta(minutes=5), targets),))


async def test_contact_methods_are_sent_at_their_delays(store: Store) -> None:
    world = World(store, rules=make_rules(one_level(Target(TargetKind.PERSON, "ann"))))
    chat_then_mail = (
        ContactMethod("hook", "chat"),
        ContactMethod("mail", "ann@example.org", timedelta(minutes=2)),
    )
    people = dict(world.rules.people, ann=Person("ann", "Ann", chat_then_mail))
    world.rules = replace(
        world.rules,
        people=people,
        channels=dict(
            world.rules.channels, mail=replace(world.rules.channels["hook"], name="mail")
        ),
    )
    incident = await world.open()

    await world.at(t(30))

    due = dict(await store.due_documents(OUTBOX, t(30 + 120), 10))
    assert sorted(due) == [page(incident, 1, 0, 0, "ann"), f"{incident}:1:0:0:ann:mail"]
    assert await store.due_documents(OUTBOX, t(30 + 119), 10) == [
        (page(incident, 1, 0, 0, "ann"), due[page(incident, 1, 0, 0, "ann")])
    ]


async def test_a_channel_target_pages_the_channel_itself(store: Store) -> None:
    world = World(store, rules=make_rules(one_level(Target(TargetKind.CHANNEL, "hook"))))
    incident = await world.open()

    await world.at(t(30))

    assert await world.outbox() == [f"{incident}:1:0:0:-:hook"]


async def test_a_team_pages_each_member_once(store: Store) -> None:
    targets = (Target(TargetKind.TEAM, "web"), Target(TargetKind.PERSON, "ann"))
    world = World(store, rules=make_rules(one_level(*targets)))
    world.rules = replace(world.rules, teams={"web": Team("web", "Web", ("ann", "bob"))})
    incident = await world.open()

    await world.at(t(30))

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), page(incident, 1, 0, 0, "bob")]


async def test_a_schedule_with_nobody_on_call_is_logged_not_paged(store: Store) -> None:
    world = World(store, rules=make_rules(one_level(Target(TargetKind.SCHEDULE, "empty"))))
    empty = Schedule("empty", "Empty", ZoneInfo("UTC"), ())
    world.rules = replace(world.rules, schedules={"empty": empty})
    incident = await world.open()

    await world.at(t(30))

    assert await world.outbox() == []
    log = (await world.escalation(incident)).log
    assert ("not_paged", "level 1 (repeat 0): schedule empty reaches nobody now") in [
        (d.what, d.reason) for d in log
    ]


async def test_an_outbox_entry_already_stored_is_not_written_again(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    key = page(incident, 1, 0, 0, "ann")
    # As if an earlier run had stored and delivered it.
    delivered = {"key": key, "status": "delivered"}
    await store.commit(
        CorrelationCommit("test", documents=(ConsumerWrite(OUTBOX, key, delivered),))
    )

    await world.at(t(30))

    assert await store.consumer_documents(OUTBOX, [key]) == {key: delivered}
