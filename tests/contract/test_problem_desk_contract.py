"""core.problem_desk against real stores: a link that meets another writer retries.

The correlator (or a responder) may write an incident between the desk's read and its
write; the compare-and-set refuses the write, and the desk reads again and links the
incident as it is now, keeping the other writer's change. A writer that never stops
winning makes the desk give up with 409 rather than loop.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.errors import Conflict
from core.incident import Incident
from core.problem_desk import ATTEMPTS, act, create
from core.problems import CreateProblem, LinkIncident, open_problem
from core.store import CorrelationCommit, GroupHead, Store, every_alert, incident_change
from tests.contract.builders import T0, make_incident

NOW = T0 + timedelta(hours=1)


class RacingStore:
    """The store, but each read of an incident is followed by another writer's change.

    ``races`` says how many reads are overtaken: the writer sets a new title.
    """

    def __init__(self, store: Store, races: int) -> None:
        self._store = store
        self.races = races

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    async def get_incident(self, incident_id: str) -> Incident | None:
        incident = await self._store.get_incident(incident_id)
        if incident is not None and self.races > 0:
            self.races -= 1
            moved = replace(incident, title=f"retitled {self.races}", version=incident.version + 1)
            await self._store.commit(incident_change(moved))
        return incident


async def stored(store: Store, *incidents: Incident) -> None:
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=incidents,
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            alerts=every_alert(*incidents),
        )
    )


@pytest.mark.parametrize(
    "races",
    [
        0,  # nobody else writes: one write
        1,  # the correlator writes once in between: read again, link
        ATTEMPTS - 1,  # it wins every attempt but the last
    ],
)
async def test_a_link_overtaken_by_another_writer_keeps_both_changes(
    store: Store, races: int
) -> None:
    one, two = make_incident(1), make_incident(2)
    await stored(store, one, two)
    problem = await create(store, CreateProblem("p", ("inc-0001",)), "prb-1", "ana", NOW)
    racing = RacingStore(store, races)
    linked = await act(racing, problem.id, LinkIncident("inc-0002"), "ana", NOW)  # type: ignore[arg-type]
    assert linked.incidents == ("inc-0001", "inc-0002")
    incident = await store.get_incident("inc-0002")
    assert incident is not None
    assert incident.problem_id == "prb-1"
    # The other writer's last change is kept (its version was the one linked over).
    assert incident.version == 2 + races
    assert incident.title == (f"retitled {0}" if races else two.title)
    assert [e.kind for e in await store.incident_events("inc-0002")] == ["problem_linked"]


async def test_a_writer_that_always_wins_makes_the_link_a_409(store: Store) -> None:
    await stored(store, make_incident(1), make_incident(2))
    problem = await create(store, CreateProblem("p", ("inc-0001",)), "prb-1", "ana", NOW)
    racing = RacingStore(store, ATTEMPTS)
    with pytest.raises(Conflict):
        await act(racing, problem.id, LinkIncident("inc-0002"), "ana", NOW)  # type: ignore[arg-type]
    stale = await store.get_problem(problem.id)
    assert stale == problem
    incident = await store.get_incident("inc-0002")
    assert incident is not None
    assert incident.problem_id is None


async def test_a_link_of_a_listed_incident_that_does_not_name_the_problem_repairs_it(
    store: Store,
) -> None:
    # What atomic writes never leave, but a store restored from two backups might.
    await stored(store, make_incident(1))
    problem = open_problem(CreateProblem("p", ("inc-0001",)), "prb-1", "ana", NOW)
    await store.write_problem(problem)  # without the incident's side
    linked = await act(store, problem.id, LinkIncident("inc-0001"), "ana", NOW)
    assert (linked.incidents, linked.version) == (("inc-0001",), 2)
    incident = await store.get_incident("inc-0001")
    assert incident is not None
    assert incident.problem_id == "prb-1"
