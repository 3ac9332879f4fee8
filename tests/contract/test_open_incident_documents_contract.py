"""Every open incident with its alerts as documents: the read behind Alertmanager's API.

The same incidents, in the same order, as ``list_incidents`` with the open states; each
alert's document is what ``encode_alert`` writes for the alert that ``list_incidents``
gives, so that a reader of the documents sees the latest write of every alert.
"""

from __future__ import annotations

from dataclasses import replace

import orjson

from core.codec import encode_alert
from core.incident import OPEN_STATES, Incident, IncidentState
from core.model import AlertStatus
from core.store import CorrelationCommit, IncidentAlertWrite, IncidentQuery, Store
from tests.contract.builders import make_incident
from tests.contract.test_incident_alerts_contract import GROUP, big_incident, create


def as_documents(incident: Incident) -> dict[str, object]:
    return {f: orjson.loads(encode_alert(a)) for f, a in incident.alerts.items()}


async def test_open_incidents_come_with_their_alert_documents(store: Store) -> None:
    storm = big_incident(300)
    await create(store, storm)
    for n, state in [
        (2, IncidentState.ACKNOWLEDGED),
        (3, IncidentState.RESOLVED),
        (4, IncidentState.ON_HOLD),
    ]:
        await create(store, make_incident(n, state=state))
    listed = await store.list_incidents(IncidentQuery(states=OPEN_STATES, limit=100))

    read = await store.open_incident_documents()

    assert (
        [r.incident.id for r in read]
        == [i.id for i in listed]
        == ["inc-0004", "inc-0002", "inc-0001"]
    )
    for documents, incident in zip(read, listed, strict=True):
        assert documents.incident == replace(incident, alerts={})
        assert documents.alerts == as_documents(incident)


async def test_documents_are_of_the_latest_write(store: Store) -> None:
    opened = big_incident(20)
    await create(store, opened)
    first, second = list(opened.alerts.values())[:2]
    resolved = replace(first, status=AlertStatus.RESOLVED, count=7)
    muted = replace(second, muted_by="silence 0123 by ana: why")
    updated = replace(
        opened,
        version=2,
        alerts={**opened.alerts, first.fingerprint: resolved, second.fingerprint: muted},
    )
    writes = (IncidentAlertWrite(opened.id, resolved), IncidentAlertWrite(opened.id, muted))
    await store.commit(CorrelationCommit(GROUP, incidents=(updated,), alerts=writes))

    [read] = await store.open_incident_documents()

    assert read.alerts == as_documents(updated)
    assert read.alerts[first.fingerprint]["status"] == "resolved"
    assert read.alerts[second.fingerprint]["muted_by"] == "silence 0123 by ana: why"


async def test_without_open_incidents_there_is_nothing(store: Store) -> None:
    await create(store, make_incident(1, state=IncidentState.RESOLVED))
    assert await store.open_incident_documents() == []


async def test_incidents_of_known_versions_come_without_alerts(store: Store) -> None:
    first, second = big_incident(5), make_incident(2)
    await create(store, first)
    await create(store, second)
    [newer, older] = await store.open_incident_documents()
    held = {newer.incident.id: newer.incident.version, older.incident.id: older.incident.version}

    unchanged = await store.open_incident_documents(held)
    assert [(r.incident.id, r.alerts) for r in unchanged] == [(second.id, None), (first.id, None)]

    # A change to one alert is a new version of its incident: that one is read again.
    alert = next(iter(first.alerts.values()))
    resolved = replace(alert, status=AlertStatus.RESOLVED)
    updated = replace(first, version=2, alerts={**first.alerts, alert.fingerprint: resolved})
    writes = (IncidentAlertWrite(first.id, resolved),)
    await store.commit(CorrelationCommit(GROUP, incidents=(updated,), alerts=writes))

    after = await store.open_incident_documents(held)
    assert [(r.incident.id, r.alerts is None) for r in after] == [
        (second.id, True),
        (first.id, False),
    ]
    assert after[1].alerts == as_documents(updated)
    assert after[1].incident.version == 2
