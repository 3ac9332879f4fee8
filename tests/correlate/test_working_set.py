"""A step's commit lists only the alerts the step added or changed."""

from __future__ import annotations

from dataclasses import replace

from core.incident import Incident
from core.store import CorrelationCommit, GroupHead, IncidentAlertWrite, every_alert
from core.store.sqlite import SQLiteStore
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


async def test_changed_alert_is_the_only_one_written(sqlite_store: SQLiteStore) -> None:
    incident = with_alerts(make_incident(1), 100)
    await stored(sqlite_store, incident)
    working = WorkingSet(sqlite_store)
    head = await working.head(incident.group_key)
    assert head is not None
    changed = replace(head.alerts[f"{5:016x}"], count=9)

    working.with_alert(head, changed)
    commit = working.commit("correlate", ())

    assert commit.alerts == (IncidentAlertWrite(incident.id, changed),)
    assert [i.version for i in commit.incidents] == [2]


async def test_incident_changed_without_its_alerts_writes_none(sqlite_store: SQLiteStore) -> None:
    incident = with_alerts(make_incident(1), 10)
    await stored(sqlite_store, incident)
    working = WorkingSet(sqlite_store)
    head = await working.head(incident.group_key)
    assert head is not None

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
