"""A commit writes the alerts of an incident it lists, no more, and reads give the last write.

Also: incidents that an earlier Tocsin stored with their alerts inline, in one document,
still read back whole and take commits in today's layout without losing an alert.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from core.incident import Incident, IncidentAlert
from core.model import AlertStatus
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentAlertWrite,
    IncidentQuery,
    Store,
    VersionConflict,
    every_alert,
)
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.contract.builders import T0, make_incident

GROUP = "correlate"


def big_incident(alerts: int) -> Incident:
    """Returns incident number 1 holding ``alerts`` alerts, joined a second apart."""
    [template] = make_incident(1).alerts.values()
    held = [
        replace(
            template,
            fingerprint=f"{n:016x}",
            labels={**template.labels, "instance": f"web-{n}"},
            first_seen=T0 + timedelta(seconds=n),
        )
        for n in range(alerts)
    ]
    return make_incident(1, alerts={a.fingerprint: a for a in held})


async def create(store: Store, incident: Incident) -> None:
    """Commits ``incident`` as a new incident, head of its group, with all its alerts."""
    await store.commit(
        CorrelationCommit(
            GROUP,
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            alerts=every_alert(incident),
        )
    )


async def assert_reads_back(store: Store, incident: Incident) -> None:
    """Asserts that every way of reading the incident gives it whole."""
    assert await store.get_incident(incident.id) == incident
    assert await store.incident_for_group(incident.group_key) == incident
    assert await store.list_incidents(IncidentQuery()) == [incident]


async def test_commit_writes_only_the_alerts_it_lists(store: Store) -> None:
    opened = big_incident(1000)
    await create(store, opened)
    seventh, eighth = list(opened.alerts.values())[7:9]
    changed = replace(seventh, count=99, status=AlertStatus.RESOLVED)
    # Changed in memory only and not listed: the store must not write it.
    unlisted = replace(eighth, count=1234)
    updated = replace(
        opened,
        version=2,
        title="renamed",
        alerts={**opened.alerts, changed.fingerprint: changed, unlisted.fingerprint: unlisted},
    )

    await store.commit(
        CorrelationCommit(
            GROUP, incidents=(updated,), alerts=(IncidentAlertWrite(opened.id, changed),)
        )
    )

    await assert_reads_back(
        store, replace(updated, alerts={**opened.alerts, changed.fingerprint: changed})
    )


async def test_commit_without_alerts_keeps_the_stored_ones(store: Store) -> None:
    opened = big_incident(50)
    await create(store, opened)
    acknowledged = replace(opened, version=2, assignee="alice")

    await store.commit(CorrelationCommit(GROUP, incidents=(acknowledged,)))

    await assert_reads_back(store, acknowledged)


async def test_new_alerts_join_an_incident(store: Store) -> None:
    opened = big_incident(3)
    await create(store, opened)
    joining = list(big_incident(4).alerts.values())[-1]
    grown = replace(opened, version=2, alerts={**opened.alerts, joining.fingerprint: joining})

    await store.commit(
        CorrelationCommit(
            GROUP, incidents=(grown,), alerts=(IncidentAlertWrite(grown.id, joining),)
        )
    )

    await assert_reads_back(store, grown)


async def test_alerts_read_back_in_the_order_they_joined(store: Store) -> None:
    # Fingerprints in the opposite order to joining: the store must not order by them.
    alerts = [
        replace(alert, first_seen=T0 + timedelta(seconds=100 - n))
        for n, alert in enumerate(big_incident(30).alerts.values())
    ]
    incident = make_incident(1, alerts={a.fingerprint: a for a in alerts})
    await create(store, incident)

    stored = await store.get_incident(incident.id)

    assert stored is not None
    assert list(stored.alerts) == [a.fingerprint for a in reversed(alerts)]


async def test_stale_commit_writes_none_of_its_alerts(store: Store) -> None:
    opened = big_incident(20)
    await create(store, opened)
    first, second = list(opened.alerts.values())[:2]
    # Two writers read version 1 and each change a different alert.
    one = replace(first, count=10)
    other = replace(second, count=20)
    winner = replace(opened, version=2, alerts={**opened.alerts, one.fingerprint: one})
    loser = replace(opened, version=2, alerts={**opened.alerts, other.fingerprint: other})
    await store.commit(
        CorrelationCommit(GROUP, incidents=(winner,), alerts=(IncidentAlertWrite(opened.id, one),))
    )

    with pytest.raises(VersionConflict):
        await store.commit(
            CorrelationCommit(
                GROUP, incidents=(loser,), alerts=(IncidentAlertWrite(opened.id, other),)
            )
        )
    after_conflict = await store.get_incident(opened.id)
    # The loser re-reads and tries again on top of the winner's version.
    retried = replace(winner, version=3, alerts={**winner.alerts, other.fingerprint: other})
    await store.commit(
        CorrelationCommit(
            GROUP, incidents=(retried,), alerts=(IncidentAlertWrite(opened.id, other),)
        )
    )

    assert after_conflict == winner
    await assert_reads_back(store, retried)


async def refresh_repeatedly(store: Store, incident: Incident, commits: int) -> Incident:
    """Commits ``commits`` refreshes of three of the incident's alerts each; returns it then."""
    fingerprints = list(incident.alerts)
    for n in range(commits):
        changed = [
            replace(incident.alerts[fingerprints[(3 * n + k) % len(fingerprints)]], count=n + 2)
            for k in range(3)
        ]
        incident = replace(
            incident,
            version=incident.version + 1,
            alerts={**incident.alerts, **{a.fingerprint: a for a in changed}},
        )
        writes = tuple(IncidentAlertWrite(incident.id, a) for a in changed)
        await store.commit(CorrelationCommit(GROUP, incidents=(incident,), alerts=writes))
    return incident


async def test_alerts_refreshed_over_many_commits_read_back_as_last_written(
    store: Store,
) -> None:
    opened = big_incident(10)
    await create(store, opened)

    refreshed = await refresh_repeatedly(store, opened, commits=60)

    await assert_reads_back(store, refreshed)
    # Every alert was refreshed, and its last write is what reads back.
    assert min(a.count for a in refreshed.alerts.values()) > 1


async def test_sqlite_merges_batches_of_an_incident_whose_alerts_keep_changing(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        opened = big_incident(10)
        await create(store, opened)
        refreshed = await refresh_repeatedly(store, opened, commits=200)
        await assert_reads_back(store, refreshed)
    finally:
        await store.close()
    check = sqlite3.connect(tmp_path / "tocsin.db")
    try:
        (batches,) = check.execute("SELECT COUNT(*) FROM incident_alert_batch").fetchone()
        (documents,) = check.execute("SELECT alert_documents FROM incident").fetchone()
    finally:
        check.close()
    # 600 alert writes in 201 commits, yet the incident reads at most 2 x 10 + 32 + 3
    # documents: the batches were merged whenever they grew past that.
    assert documents <= 55
    assert batches <= 16


async def test_sqlite_merge_of_a_commit_without_every_alert_keeps_the_stored_ones(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    try:
        opened = big_incident(10)
        await create(store, opened)
        # 10 + 3 x 9 = 37 documents stored: one more write passes 2 x 1 + 32 and merges.
        refreshed = await refresh_repeatedly(store, opened, commits=9)
        one = replace(next(iter(refreshed.alerts.values())), count=99)
        # Holding only the alert it writes, its counts given (as an operator's commit of
        # an incident read without its alerts would): the merge must read the stored rows.
        partial = replace(refreshed, version=refreshed.version + 1, alerts={one.fingerprint: one})
        await store.commit(
            CorrelationCommit(
                GROUP,
                incidents=(partial,),
                alerts=(IncidentAlertWrite(partial.id, one),),
                counts=((partial.id, 10, 10),),
            )
        )
        read = await store.get_incident(partial.id)
    finally:
        await store.close()
    assert read is not None
    assert read.alerts == {**refreshed.alerts, one.fingerprint: one}


# An incident as Tocsin stored it before alerts were kept apart: one JSON document.
OLD_DOCUMENT = {
    "id": "inc-0001",
    "group_key": '{}:{alertname="HighLatency",instance="web-1"}',
    "title": "High latency on web-1",
    "state": "triggered",
    "opened_at": 1710036059123456,
    "version": 1,
    "category": "performance",
    "service": "checkout",
    "impact": 2,
    "urgency": 1,
    "priority": "P2",
    "team": "web",
    "route": None,
    "policy": None,
    "assignee": None,
    "acknowledged_at": None,
    "resolved_at": None,
    "closed_at": None,
    "flapping": False,
    "stale_resolved": False,
    "held": False,
    "muted": False,
    "public": False,
    "components": ["Checkout API"],
    "alerts": [
        {
            "fingerprint": "0000000000000001",
            "labels": {"alertname": "HighLatency", "instance": "web-1", "サービス": "決済"},
            "status": "firing",
            "first_seen": 1710036059123456,
            "last_seen": 1710036089123456,
            "count": 3,
            "position": "1",
            "ends_at": None,
            "transitions": [1710036069123456],
            "muted_by": None,
        },
        {
            "fingerprint": "00000000000000aa",
            "labels": {"alertname": "HighLatency", "instance": "web-2"},
            "status": "resolved",
            "first_seen": 1710035999123456,
            "last_seen": 1710036179123456,
            "count": 1,
            "position": "7",
            "ends_at": 1710036179123456,
            "transitions": [],
            "muted_by": None,
        },
    ],
}


def old_incident() -> Incident:
    """The incident that OLD_DOCUMENT holds."""
    resolved = IncidentAlert(
        fingerprint="00000000000000aa",
        labels={"alertname": "HighLatency", "instance": "web-2"},
        status=AlertStatus.RESOLVED,
        first_seen=T0,
        last_seen=T0 + timedelta(minutes=3),
        count=1,
        position="7",
        ends_at=T0 + timedelta(minutes=3),
        first_received_at=T0,
        last_received_at=T0 + timedelta(minutes=3),
    )
    incident = make_incident(1)
    (firing,) = incident.alerts.values()
    # Stored before alerts kept their source's fields: none of them, and receipt read from
    # when the correlator saw the alert.
    firing = replace(
        firing,
        annotations={},
        generator_url="",
        starts_at=None,
        first_received_at=firing.first_seen,
        last_received_at=firing.last_seen,
    )
    # Open, and stored before sweep_at existed: due at once, so that the sweep looks at it.
    return replace(
        incident,
        alerts={firing.fingerprint: firing, resolved.fingerprint: resolved},
        sweep_at=incident.opened_at,
    )


async def assert_old_incident_reads_back_and_takes_a_commit(store: Store) -> Incident:
    """Asserts that the old incident reads back whole, and after a one-alert commit too."""
    stored = old_incident()
    await assert_reads_back(store, stored)
    firing = stored.alerts["0000000000000001"]
    changed = replace(firing, count=4)
    updated = replace(
        stored, version=2, title="renamed", alerts={**stored.alerts, firing.fingerprint: changed}
    )

    await store.commit(
        CorrelationCommit(
            GROUP, incidents=(updated,), alerts=(IncidentAlertWrite(stored.id, changed),)
        )
    )

    # The alert the commit did not list was stored only inline, and is still there.
    await assert_reads_back(store, updated)
    with pytest.raises(VersionConflict):
        await store.commit(CorrelationCommit(GROUP, incidents=(updated,)))
    return updated


# The tables of an old database that hold the incident, as an earlier Tocsin made them.
OLD_SQLITE_SCHEMA = """
CREATE TABLE incident (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    service TEXT,
    opened_at INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE group_head (
    group_key TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL
);
"""


async def test_sqlite_database_with_inline_alerts_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SQLITE_SCHEMA)
    old.execute(
        "INSERT INTO incident VALUES (?, 1, 'triggered', 'checkout', ?, ?)",
        (OLD_DOCUMENT["id"], OLD_DOCUMENT["opened_at"], orjson.dumps(OLD_DOCUMENT)),
    )
    old.execute("INSERT INTO group_head VALUES (?, ?)", (OLD_DOCUMENT["group_key"], "inc-0001"))
    old.commit()
    old.close()

    store = SQLiteStore(path)
    await store.open()
    try:
        updated = await assert_old_incident_reads_back_and_takes_a_commit(store)
    finally:
        await store.close()
    # Opened again: the alerts moved out of the old document once, and stay where they are.
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        await assert_reads_back(reopened, updated)
    finally:
        await reopened.close()


@pytest.mark.redis
async def test_redis_incident_with_inline_alerts_reads_back(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        await client.hset(
            "tocsin:incident:inc-0001", mapping={"version": 1, "body": orjson.dumps(OLD_DOCUMENT)}
        )
        await client.set(f"tocsin:group:{OLD_DOCUMENT['group_key']}", "inc-0001")
        await client.zadd("tocsin:incidents:opened", {"inc-0001": OLD_DOCUMENT["opened_at"]})
    finally:
        await client.aclose()

    store = RedisStore(redis_url)
    await store.open()
    try:
        await assert_old_incident_reads_back_and_takes_a_commit(store)
    finally:
        await store.close()
