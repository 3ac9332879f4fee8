"""The problem store's contract (core.store.problems), on SQLite and on Redis.

Problems are written with compare-and-set on their version, listed newest first (by
state through an index), and written in one atomic write with the incidents they link:
a conflict on either side writes neither.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.incident import Incident
from core.problems import Problem, ProblemState
from core.store import CorrelationCommit, GroupHead, Store, VersionConflict, every_alert
from core.store.problems import ProblemConflict
from tests.contract.builders import T0, StoreOpener, make_event, make_incident

LEASE = timedelta(seconds=30)


def make_problem(n: int, **changes: object) -> Problem:
    """Returns problem number ``n`` at version 1, created ``n`` minutes after T0."""
    problem = Problem(
        id=f"prb-{n:04d}",
        title=f"Checkout latency №{n} 🔥",
        state=ProblemState.NEW,
        created_at=T0 + timedelta(minutes=n),
        created_by="ana",
        updated_at=T0 + timedelta(minutes=n, microseconds=7),
        updated_by="bo",
        description="Übertragung fails every night",
        root_cause="a cron job",
        workaround="restart it",
        known_error=True,
        incidents=("inc-0001", "inc-0002"),
    )
    return replace(problem, **changes)  # type: ignore[arg-type]


async def stored_incidents(store: Store, *incidents: Incident) -> None:
    """Commits new incidents as the correlator would."""
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=incidents,
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
            alerts=every_alert(*incidents),
        )
    )


def linked(incident: Incident, problem: Problem) -> Incident:
    return replace(incident, problem_id=problem.id, version=incident.version + 1)


async def test_a_written_problem_reads_back_with_every_field(store: Store) -> None:
    problem = make_problem(1)
    await store.write_problem(problem)
    assert await store.get_problem(problem.id) == problem
    assert await store.get_problem("prb-none") is None


@pytest.mark.parametrize(
    "version",
    [
        1,  # a second creation with the same id
        3,  # a version that skips one
    ],
)
async def test_a_stale_version_is_refused_and_changes_nothing(store: Store, version: int) -> None:
    problem = make_problem(1)
    await store.write_problem(problem)
    with pytest.raises(ProblemConflict):
        await store.write_problem(replace(problem, title="other", version=version))
    assert await store.get_problem(problem.id) == problem


async def test_the_next_version_replaces_the_problem(store: Store) -> None:
    problem = make_problem(1)
    await store.write_problem(problem)
    later = replace(problem, state=ProblemState.INVESTIGATING, version=2, incidents=())
    await store.write_problem(later)
    assert await store.get_problem(problem.id) == later


async def test_problems_list_newest_first_by_state_and_limit(store: Store) -> None:
    problems = [
        make_problem(1),
        make_problem(2, state=ProblemState.RESOLVED),
        make_problem(3),
        # Created at the same instant as number 3: the larger id comes first.
        make_problem(4, created_at=T0 + timedelta(minutes=3)),
    ]
    for problem in problems:
        await store.write_problem(problem)
    ids = [p.id for p in await store.list_problems(None, 10)]
    assert ids == ["prb-0004", "prb-0003", "prb-0002", "prb-0001"]
    new = [p.id for p in await store.list_problems(ProblemState.NEW, 10)]
    assert new == ["prb-0004", "prb-0003", "prb-0001"]
    assert [p.id for p in await store.list_problems(ProblemState.NEW, 2)] == new[:2]
    assert await store.list_problems(ProblemState.CLOSED, 10) == []


async def test_a_state_change_moves_the_problem_between_state_lists(store: Store) -> None:
    problem = make_problem(1)
    await store.write_problem(problem)
    await store.write_problem(replace(problem, state=ProblemState.CLOSED, version=2))
    assert await store.list_problems(ProblemState.NEW, 10) == []
    assert [p.id for p in await store.list_problems(ProblemState.CLOSED, 10)] == [problem.id]


async def test_incidents_written_with_the_problem_name_it_with_a_timeline_entry(
    store: Store,
) -> None:
    one, two = make_incident(1), make_incident(2)
    await stored_incidents(store, one, two)
    problem = make_problem(1)
    events = [make_event(i, 5, "problem_linked") for i in (one, two)]
    await store.write_problem(problem, [linked(one, problem), linked(two, problem)], events)
    for incident in (one, two):
        read = await store.get_incident(incident.id)
        assert read is not None
        assert (read.problem_id, read.version) == (problem.id, 2)
        # Its alerts are left as stored, and the counts kept with them.
        assert read.alerts == incident.alerts
        summary = await store.incident_summary(incident.id)
        assert summary is not None
        assert (summary.alerts, summary.firing) == (1, 1)
        assert [e.kind for e in await store.incident_events(incident.id)] == ["problem_linked"]
    batch = await store.claim_events("escalation", "m1", 10, now=T0, lease=LEASE)
    assert [(e.incident_id, e.kind, e.version) for e in batch.events] == [
        ("inc-0001", "problem_linked", 2),
        ("inc-0002", "problem_linked", 2),
    ]


async def test_a_moved_incident_writes_neither_the_problem_nor_any_incident(
    store: Store,
) -> None:
    one, two = make_incident(1), make_incident(2)
    await stored_incidents(store, one, two)
    problem = make_problem(1)
    stale = replace(two, problem_id=problem.id, version=5)
    with pytest.raises(VersionConflict):
        await store.write_problem(problem, [linked(one, problem), stale])
    assert await store.get_problem(problem.id) is None
    assert await store.get_incident(one.id) == one
    assert await store.incident_events(one.id) == []


async def test_a_moved_problem_writes_no_incident(store: Store) -> None:
    one = make_incident(1)
    await stored_incidents(store, one)
    problem = make_problem(1)
    await store.write_problem(problem)
    event = make_event(one, 5, "problem_linked")
    with pytest.raises(ProblemConflict):
        await store.write_problem(replace(problem, version=3), [linked(one, problem)], [event])
    assert await store.get_incident(one.id) == one
    assert await store.incident_events(one.id) == []


async def test_problems_survive_a_new_client(store: Store, open_store: StoreOpener) -> None:
    problem = make_problem(1)
    await store.write_problem(problem)
    other = await open_store()
    try:
        assert await other.get_problem(problem.id) == problem
        assert [p.id for p in await other.list_problems(ProblemState.NEW, 1)] == [problem.id]
    finally:
        await other.close()
