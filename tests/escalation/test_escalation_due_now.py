"""A step the stage's own events make due fires in the same pass (group_wait 0s).

The route's group_wait is 0 s here: a new incident's first page is due as soon as
escalation starts. The pass that starts it pages it, after every event of the batch
(those of the correlator's commit), not in the next pass; the incident of the last
event of a full batch waits for that next pass, where the rest of its events are.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.incident import IncidentEvent
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from escalation.stage import EscalationStage
from tests.contract.builders import make_incident
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
    page,
)


def _world(store: Store) -> World:
    rules = make_rules()
    return World(store, rules=replace(rules, route=replace(rules.route, group_wait=timedelta(0))))


async def _open(world: World, n: int, kinds: tuple[str, ...]) -> str:
    """Opens incident ``n`` now with the events ``kinds``, all in one commit."""
    now = world.clock.now()
    incident = make_incident(n, opened_at=now, policy="web")
    details = {"opened": {"route": "{}"}, "alerts_joined": {"alerts": []}}
    events = tuple(
        IncidentEvent(incident.id, now, "correlate", kind, details.get(kind, {})) for kind in kinds
    )
    await world.store.commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=events,
            alerts=every_alert(incident),
        )
    )
    world.incidents[incident.id] = incident
    return incident.id


async def test_a_first_page_due_at_once_goes_out_in_the_pass_that_starts_it(store: Store) -> None:
    world = _world(store)
    incident = await _open(world, 1, ("opened", "alerts_joined", "categorised"))

    handled = await world.stage().step()

    assert handled == 3  # the three events; no timer was due when the pass began
    assert await world.outbox() == [page(incident, 1, 0, 0, "ann")]
    escalation = await world.escalation(incident)
    # The alerts that joined in the same commit came before the page: no update pending.
    assert escalation.when.pending == ()
    assert escalation.level == 1
    kinds = [e.kind for e in await store.incident_events(incident)]
    assert kinds[-2:] == ["escalation_started", "paged"]


async def test_the_last_incident_of_a_full_batch_pages_after_its_next_events(
    store: Store,
) -> None:
    world = _world(store)
    first = await _open(world, 1, ("opened",))
    second = await _open(world, 2, ("opened", "categorised", "alerts_joined"))
    stage = EscalationStage(world.store, lambda: world.rules, world.clock, "m1", limit=3)

    await stage.step()  # opened (1), opened and categorised (2): a full batch
    after_first = await world.outbox()
    await stage.step()  # alerts_joined (2), then its page
    escalation = await world.escalation(second)

    assert after_first == [page(first, 1, 0, 0, "ann")]
    assert await world.outbox() == [page(first, 1, 0, 0, "ann"), page(second, 1, 0, 0, "ann")]
    # Paged after its alerts joined, so they are not news to send as an update.
    assert escalation.when.pending == ()
