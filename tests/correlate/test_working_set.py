"""A step's commit lists only the alerts the step added or changed; a failed step leaves none."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.incident import Incident
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentAlertWrite,
    VersionConflict,
    every_alert,
)
from core.store.sqlite import SQLiteStore
from correlate.heads import HeadCache
from correlate.working import WorkingSet
from tests.contract.builders import make_incident


def with_alerts(incident: Incident, count: int) -> Incident:
    """Returns the incident holding ``count`` distinct alerts."""
    [template] = incident.alerts.values()
    alerts = [replace(template, fingerprint=f"{n:016x}") for n in range(count)]
    return replace(incident, alerts={a.fingerprint: a for a in alerts})


async def stored(store: SQLiteStore, incident: Incident) -> None:
    await store.commit(
        CorrelationCommit(
            "correlate",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            alerts=every_alert(incident),
        )
    )


async def read_through_a_cache(
    store: SQLiteStore, alerts: int = 10
) -> tuple[Incident, HeadCache, WorkingSet, Incident]:
    """Stores an incident of ``alerts`` alerts; returns it, a cache, a step on it, its head."""
    incident = with_alerts(make_incident(1), alerts)
    await stored(store, incident)
    cache = HeadCache()
    working = WorkingSet(store, cache)
    head = await working.head(incident.group_key)
    assert head is not None
    return incident, cache, working, head


async def test_changed_alert_is_the_only_one_written(sqlite_store: SQLiteStore) -> None:
    incident, _, working, head = await read_through_a_cache(sqlite_store, alerts=100)
    changed = replace(head.alerts[f"{5:016x}"], count=9)

    working.with_alert(head, changed)
    commit = working.commit("correlate", ())

    assert commit.alerts == (IncidentAlertWrite(incident.id, changed),)
    assert [i.version for i in commit.incidents] == [2]


async def test_incident_changed_without_its_alerts_writes_none(sqlite_store: SQLiteStore) -> None:
    _, _, working, head = await read_through_a_cache(sqlite_store)

    working.put(replace(head, assignee="alice"))
    commit = working.commit("correlate", ())

    assert commit.alerts == ()
    assert [i.assignee for i in commit.incidents] == ["alice"]


async def test_new_incident_writes_all_its_alerts(sqlite_store: SQLiteStore) -> None:
    incident = replace(with_alerts(make_incident(1), 3), version=0)
    working = WorkingSet(sqlite_store)

    working.put(incident)
    commit = working.commit("correlate", ())

    assert commit.alerts == every_alert(incident)


async def test_alert_set_back_to_what_it_was_is_not_written(sqlite_store: SQLiteStore) -> None:
    _, _, working, head = await read_through_a_cache(sqlite_store)
    original = head.alerts[f"{3:016x}"]

    head = working.with_alert(head, replace(original, count=5))
    working.with_alert(head, original)
    commit = working.commit("correlate", ())

    assert commit.alerts == ()


async def test_abandoned_step_leaves_the_cached_incident_as_it_was(
    sqlite_store: SQLiteStore,
) -> None:
    incident, cache, working, head = await read_through_a_cache(sqlite_store)
    as_read = dict(head.alerts)
    changed = replace(head.alerts[f"{2:016x}"], count=7)
    [template] = make_incident(1).alerts.values()
    joining = replace(template, fingerprint="ffffffffffffffff")

    head = working.with_alert(head, changed)
    head = working.with_alert(head, joining)
    # The step changes the alerts in place: the cached incident shows them meanwhile.
    known, cached = cache.lookup(incident.group_key)
    assert known
    assert cached is not None
    assert cached.alerts[changed.fingerprint] is changed
    working.abandon()

    assert dict(cached.alerts) == as_read
    assert list(cached.alerts) == list(as_read)  # the order too: the new one is gone


async def test_failed_commit_leaves_the_correlator_reading_afresh(
    sqlite_store: SQLiteStore,
) -> None:
    # A commit that conflicts (another writer moved the incident on) must not leave the
    # step's changes in what the correlator remembers: the next step reads the store.
    incident, cache, working, head = await read_through_a_cache(sqlite_store)
    working.with_alert(head, replace(head.alerts[f"{4:016x}"], count=3))
    moved_on = replace(incident, version=2, assignee="bob")
    await sqlite_store.commit(CorrelationCommit("correlate", incidents=(moved_on,)))

    with pytest.raises(VersionConflict):
        await sqlite_store.commit(working.commit("correlate", ()))
    working.abandon()

    _known, cached = cache.lookup(incident.group_key)
    assert cached is not None
    assert cached.alerts == incident.alerts
    assert await sqlite_store.get_incident(incident.id) == moved_on
