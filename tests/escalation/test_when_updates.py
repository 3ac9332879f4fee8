"""When to page: updates bounded by group_interval, send_resolved, flapping, support hours.

The stage on a real store (both backends), time moved by a ManualClock only.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.incident import IncidentState
from core.store import Store
from escalation.page import OUTBOX
from escalation.state import Phase
from rules.people import ContactMethod
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.services import Service
from rules.sla_rules import SupportHours
from tests.escalation.builders import window
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    page,
    t,
)

GROUP_INTERVAL = timedelta(minutes=5)


def update(incident_id: str, number: int, person: str = "ann") -> str:
    """The outbox key of update ``number`` to ``person`` on channel ``hook``."""
    return f"{incident_id}:update{number}:{person}:hook"


async def paged_world(store: Store) -> tuple[World, str]:
    """A world whose incident paged ann at t(30) (group_wait 30s)."""
    world = World(store)
    incident = await world.open()
    await world.at(t(30))
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    return world, incident


async def entry(world: World, key: str) -> dict[str, object]:
    """The outbox entry stored under ``key``."""
    return (await world.store.consumer_documents(OUTBOX, [key]))[key]


async def test_updates_coalesce_and_go_at_most_once_per_group_interval(store: Store) -> None:
    world, incident = await paged_world(store)
    world.clock.set(t(40))
    await world.change(incident, "alerts_joined")
    world.clock.set(t(100))
    await world.change(incident, "alert_resolved")

    await world.at(t(30) + GROUP_INTERVAL - timedelta(seconds=1))
    before = await world.outbox()
    await world.at(t(30) + GROUP_INTERVAL)
    after = await world.outbox()
    # Another join right after: the next update waits a whole group_interval.
    await world.change(incident, "alerts_joined")
    await world.at(t(30) + 2 * GROUP_INTERVAL - timedelta(seconds=1))
    not_yet = await world.outbox()
    await world.at(t(30) + 2 * GROUP_INTERVAL)

    assert update(incident, 1) not in before
    assert update(incident, 1) in after  # one update for both changes
    first = await entry(world, update(incident, 1))
    assert first["kind"] == "update"
    assert [c["kind"] for c in first["changes"]] == ["alerts_joined", "alert_resolved"]  # type: ignore[attr-defined]
    assert update(incident, 2) not in not_yet
    assert update(incident, 2) in await world.outbox()


async def test_changes_before_the_first_page_send_no_update(store: Store) -> None:
    world = World(store)
    incident = await world.open()
    world.clock.set(t(10))
    await world.change(incident, "alerts_joined")  # within group_wait: the page tells it

    await world.at(t(30) + 3 * GROUP_INTERVAL)

    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]


async def test_resolving_tells_those_paged_once_where_send_resolved(store: Store) -> None:
    world, incident = await paged_world(store)
    world.clock.set(t(60))
    await world.resolve(incident)

    await world.at(t(30) + GROUP_INTERVAL)
    await world.change(incident, "closed", state=IncidentState.CLOSED)
    await world.at(t(3600))

    resolved = await entry(world, update(incident, 1))
    assert resolved["kind"] == "resolved"
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), update(incident, 1)]


async def test_send_resolved_false_sends_no_resolution_and_says_why(store: Store) -> None:
    world = World(store)
    hook = replace(world.rules.channels["hook"], send_resolved=False)
    world.rules = replace(world.rules, channels={"hook": hook})
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(50))
    await world.acknowledge(incident)  # no more levels; ann, paged, still hears news
    world.clock.set(t(60))
    await world.change(incident, "alert_resolved", state=IncidentState.ACKNOWLEDGED)

    await world.at(t(30) + GROUP_INTERVAL)
    await world.change(incident, "alerts_joined", state=IncidentState.ACKNOWLEDGED)
    await world.at(t(30) + 2 * GROUP_INTERVAL)
    await world.resolve(incident)
    await world.at(t(30) + 3 * GROUP_INTERVAL)

    # Only the join is sent (update 1); the resolutions are not, each logged.
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann"), update(incident, 1)]
    joined = await entry(world, update(incident, 1))
    assert [c["kind"] for c in joined["changes"]] == ["alerts_joined"]  # type: ignore[attr-defined]
    reasons = [d.reason for d in (await world.escalation(incident)).log if d.what == "not_paged"]
    assert len([r for r in reasons if "send_resolved is false for ann on hook" in r]) == 2


async def test_a_flapping_incident_pages_once(store: Store) -> None:
    slow = EscalationPolicy(
        "web",
        "",
        (
            EscalationLevel(timedelta(minutes=30), (Target(TargetKind.PERSON, "ann"),)),
            EscalationLevel(timedelta(minutes=10), (Target(TargetKind.PERSON, "bob"),)),
        ),
        0,
        None,
    )
    world = World(store, rules=make_rules(slow))
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(40))
    await world.change(incident, "flapping")
    for n in range(6):
        world.clock.set(t(50 + 10 * n))
        await world.change(incident, "alert_resolved" if n % 2 == 0 else "alert_firing")
    await world.at(t(30) + GROUP_INTERVAL)
    # It resolves and reopens: level 1 is not paged again.
    world.clock.set(t(400))
    await world.resolve(incident)
    world.clock.set(t(410))
    await world.change(incident, "reopened", state=IncidentState.TRIGGERED)
    await world.at(t(411))
    at_reopen = await world.outbox()
    # Nobody acknowledges: the next level is due after level 1's delay, as it was.
    await world.at(t(411) + timedelta(minutes=30))

    assert [k for k in at_reopen if ":update" not in k] == [page(incident, 1, 0, 0, "ann")]
    escalation = await world.escalation(incident)
    reasons = [d.reason for d in escalation.log if d.what == "not_paged"]
    assert any(
        "flapping: its alerts' firing and resolved changes are not sent" in r for r in reasons
    )
    assert any("while flapping: level 1 was paged already" in r for r in reasons)
    pages = [k for k in await world.outbox() if ":update" not in k]
    assert pages == [page(incident, 1, 0, 0, "ann"), page(incident, 3, 1, 0, "bob")]


async def test_a_contact_method_whose_delay_had_not_passed_at_the_ack_gets_no_update(
    store: Store,
) -> None:
    world = World(store)
    ann = world.rules.people["ann"]
    pager = replace(world.rules.channels["hook"], name="pager")
    later = ContactMethod("pager", "ann-pager", timedelta(minutes=10))
    world.rules = replace(
        world.rules,
        channels={**world.rules.channels, "pager": pager},
        people={**world.rules.people, "ann": replace(ann, contacts=(*ann.contacts, later))},
    )
    incident = await world.open()
    await world.at(t(30))
    world.clock.set(t(60))
    await world.acknowledge(incident)
    world.clock.set(t(70))
    await world.change(incident, "alerts_joined", state=IncidentState.ACKNOWLEDGED)
    await world.at(t(30) + GROUP_INTERVAL)

    # Both contacts were scheduled; only hook's was due before the acknowledgement.
    assert await world.outbox() == [
        page(incident, 1, 0, 0, "ann"),
        f"{incident}:1:0:0:ann:pager",
        update(incident, 1),
    ]


async def test_outside_support_hours_a_limited_incident_waits_and_says_until_when(
    store: Store,
) -> None:
    world = World(store)
    hours = SupportHours(
        ZoneInfo("UTC"), (window("mon,tue,wed,thu,fri", "09:00", "17:00"),), None, frozenset({"P2"})
    )
    checkout = Service("checkout", "Checkout", support_hours=hours)
    world.rules = replace(world.rules, services={"checkout": checkout})
    incident = await world.open()  # priority P2, a Sunday night (T0 is 2024-03-10 01:59Z)
    monday_nine = datetime(2024, 3, 11, 9, 0, tzinfo=UTC)

    await world.at(t(30))
    waiting = await world.outbox()
    escalation = await world.escalation(incident)
    await world.at(monday_nine)

    assert waiting == []
    assert escalation.due == monday_nine
    assert escalation.phase is Phase.WAITING
    assert any(
        d.what == "not_paged"
        and "outside support hours" in d.reason
        and "2024-03-11T09:00" in d.reason
        for d in escalation.log
    )
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]


async def test_a_muted_incident_sends_no_update_and_says_why(store: Store) -> None:
    world, incident = await paged_world(store)
    world.clock.set(t(40))
    await world.change(incident, "alerts_joined", muted=True)

    await world.at(t(30) + GROUP_INTERVAL)

    assert update(incident, 1) not in await world.outbox()
    escalation = await world.escalation(incident)
    assert any(
        d.what == "not_paged" and d.reason.startswith("muted: an update of 1 change(s) not sent")
        for d in escalation.log
    )
