"""The correlator with people's work: rules tasks at categorisation, and merged groups.

A merge points the source's group head at an incident of another group key: the
correlator follows the head, so later alerts of that group (new ones, and resends of
the moved ones) join the target, and no incident is opened for the group again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.incident import IncidentState
from core.incident_actions import Directory, merge
from core.lifecycle import Actor
from core.roles import Role
from core.store import OPERATOR_GROUP, CorrelationCommit, GroupHead, IncidentAlertWrite
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules, make_harness

TASKED = RULES.replace(
    "    urgency: medium\n",
    "    urgency: medium\n    tasks: [Check replication lag, Check disk space]\n",
    1,
)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The harness with the db category's tasks, on SQLite and on a real redis-server."""
    if request.param == "sqlite":
        store: SQLiteStore | RedisStore = SQLiteStore(tmp_path / "tocsin.db")
    else:
        store = RedisStore(request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield make_harness(store, load_test_rules(tmp_path, TASKED))
    finally:
        await store.close()


async def test_the_category_tasks_are_created_when_the_incident_is_categorised(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db1"))
    harness.advance(minutes=1)
    await harness.send(alert(T0, alertname="DiskFull", service="db", instance="db2"))

    incident = await harness.only_incident()
    assert [(t.id, t.title, t.source, t.created_by, t.created_at) for t in incident.tasks] == [
        ("1", "Check replication lag", "rules", "tocsin", T0),
        ("2", "Check disk space", "rules", "tocsin", T0),
    ]
    # Created once, when categorised; the second alert adds none.
    assert await harness.timeline(incident) == [
        "opened",
        "alerts_joined",
        "categorised",
        "task_added",
        "task_added",
        "alerts_joined",
    ]


async def test_later_alerts_of_a_merged_group_join_the_incident_merged_into(
    harness: Harness,
) -> None:
    disk = alert(T0, alertname="DiskFull", service="db", instance="db1")
    latency = alert(T0, alertname="HighLatency", service="api", instance="api1")
    await harness.send(disk, latency)
    by_group = {i.group_key: i for i in await harness.incidents()}
    source = by_group['db:{alertname="DiskFull"}']
    target = by_group['{}:{alertname="HighLatency",service="api"}']
    merged = merge(source, target, Actor("ana", Role.RESPONDER), harness.clock.now(), Directory())
    await harness.store.commit(
        CorrelationCommit(
            OPERATOR_GROUP,
            incidents=(
                replace(merged.source, version=source.version + 1),
                replace(merged.target, version=target.version + 1),
            ),
            heads=(GroupHead(source.group_key, source.id, target.id),),
            events=merged.events,
            alerts=tuple(IncidentAlertWrite(target.id, a) for a in merged.moved),
        )
    )
    harness.advance(minutes=1)

    # A resend of the moved alert and a new alert of the source's group.
    await harness.send(disk, alert(T0, alertname="DiskFull", service="db", instance="db2"))

    incidents = {i.id: i for i in await harness.incidents()}
    assert set(incidents) == {source.id, target.id}  # no incident opened again
    joined = incidents[target.id]
    assert joined.state is IncidentState.TRIGGERED
    assert {a.labels.get("instance") for a in joined.alerts.values()} == {"api1", "db1", "db2"}
    assert joined.alerts[disk.fingerprint].count == 2  # the resend counted there
    left = incidents[source.id]
    assert (left.state, left.merged_into) == (IncidentState.RESOLVED, target.id)
    assert len(left.alerts) == 1  # kept as it was: alerts are never removed
