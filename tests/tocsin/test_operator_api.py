"""The operator API over real HTTP and SQLite: incidents, silences, keys and roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from tests.app_harness import AM_AUTH, RESPONDER, START, VIEWER, Ingest
from tests.ingest.payloads import A1_FIRING, webhook
from tests.support import poll_until
from tocsin.keys import STORE


async def ingest_incidents(ingest: Ingest) -> None:
    """Sends a DiskFull group and a HighLatency alert; waits for the correlator's incidents."""
    latency = {**A1_FIRING["alerts"][0], "labels": {"alertname": "HighLatency", "service": "api"}}
    for body in (A1_FIRING, webhook([latency])):
        assert (
            await ingest.client.post("/ingest/alertmanager", json=body, headers=AM_AUTH)
        ).status == 200
    store = ingest.client.app[STORE]

    async def both() -> bool | None:
        incidents = await store.list_incidents(IncidentQuery())
        return True if len(incidents) == 2 and sum(len(i.alerts) for i in incidents) == 3 else None

    await poll_until(both, deadline_seconds=10, interval=0.02)


async def test_list_filters_by_state_service_and_time(ingest: Ingest) -> None:
    await ingest_incidents(ingest)
    everything = await (await ingest.client.get("/api/v1/incidents", headers=VIEWER)).json()
    assert len(everything["incidents"]) == 2
    triggered = await ingest.client.get(
        "/api/v1/incidents?state=triggered,acknowledged", headers=VIEWER
    )
    assert len((await triggered.json())["incidents"]) == 2
    resolved = await ingest.client.get("/api/v1/incidents?state=resolved", headers=VIEWER)
    assert (await resolved.json())["incidents"] == []
    later = format_rfc3339(START + timedelta(minutes=1))
    none_yet = await ingest.client.get(f"/api/v1/incidents?since={later}", headers=VIEWER)
    assert (await none_yet.json())["incidents"] == []
    limited = await ingest.client.get("/api/v1/incidents?limit=1", headers=VIEWER)
    assert len((await limited.json())["incidents"]) == 1


async def test_incident_detail_has_alerts_counts_flags_and_timeline(ingest: Ingest) -> None:
    await ingest_incidents(ingest)
    listing = await (await ingest.client.get("/api/v1/incidents", headers=VIEWER)).json()
    disk = next(i for i in listing["incidents"] if i["title"].startswith("DiskFull"))
    detail = await (
        await ingest.client.get(f"/api/v1/incidents/{disk['id']}", headers=VIEWER)
    ).json()
    assert detail["counts"] == {"alerts": 2, "firing": 2, "resolved": 0}
    assert detail["flags"] == {
        "flapping": False,
        "stale_resolved": False,
        "held": False,
        "muted": False,
    }
    assert sorted(a["fingerprint"] for a in detail["alerts"]) == [
        "87f8f93154ff3b2a",
        "e5cb976153386091",
    ]
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[0] == "opened"
    # Each join is listed once, in one "alerts_joined" event per step it happened in.
    joined = [e["detail"]["alerts"] for e in detail["timeline"] if e["kind"] == "alerts_joined"]
    assert sorted(a["fingerprint"] for alerts in joined for a in alerts) == [
        "87f8f93154ff3b2a",
        "e5cb976153386091",
    ]
    # Each join shows the alert's labels, as the incident's alerts list has them.
    labels = {a["fingerprint"]: a["labels"] for a in detail["alerts"]}
    assert all(a["labels"] == labels[a["fingerprint"]] for alerts in joined for a in alerts)
    assert all(a["labels"]["alertname"] == "DiskFull" for alerts in joined for a in alerts)
    assert "categorised" in kinds


@pytest.mark.parametrize(
    ("query", "field"),
    [
        # A state that does not exist.
        ("state=burning", "state"),
        # A time that is not RFC 3339.
        ("since=yesterday", "since"),
        # A limit out of range.
        ("limit=0", "limit"),
        # A time past the year 9999 in UTC.
        ("until=9999-12-31T23:59:59-01:00", "until"),
    ],
)
async def test_bad_filter_is_named(ingest: Ingest, query: str, field: str) -> None:
    response = await ingest.client.get(f"/api/v1/incidents?{query}", headers=VIEWER)
    assert response.status == 400
    assert [p["field"] for p in (await response.json())["problems"]] == [field]


async def test_unknown_incident_is_404(ingest: Ingest) -> None:
    response = await ingest.client.get("/api/v1/incidents/nope", headers=VIEWER)
    assert response.status == 404
    assert (await response.json())["code"] == 404


@pytest.mark.parametrize(
    "headers",
    [
        # No key at all.
        {},
        # A key nobody has.
        {"Authorization": "Bearer guess"},
        # A source's token is not an operator key.
        AM_AUTH,
    ],
)
async def test_strangers_get_401(ingest: Ingest, headers: dict[str, str]) -> None:
    response = await ingest.client.get("/api/v1/incidents", headers=headers)
    assert response.status == 401


SILENCE = {
    "matchers": ['alertname="DiskFull"', 'instance=~"db[12]:9100"'],
    "ends_at": format_rfc3339(START + timedelta(hours=2)),
    "comment": "disk swap on db1 and db2",
}


async def test_responder_creates_lists_gets_and_expires_a_silence(ingest: Ingest) -> None:
    created = await ingest.client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)
    assert created.status == 201
    silence = await created.json()
    assert silence["state"] == "active"
    assert silence["created_by"] == "ana"
    assert silence["matchers"] == ['alertname="DiskFull"', 'instance=~"db[12]:9100"']
    stored = await ingest.client.app[STORE].get_silence(silence["id"])
    assert stored is not None
    assert stored.comment == "disk swap on db1 and db2"
    listing = await (await ingest.client.get("/api/v1/silences", headers=VIEWER)).json()
    assert [s["id"] for s in listing["silences"]] == [silence["id"]]
    expired = await ingest.client.delete(f"/api/v1/silences/{silence['id']}", headers=RESPONDER)
    assert (await expired.json())["state"] == "expired"
    again = await ingest.client.delete(f"/api/v1/silences/{silence['id']}", headers=RESPONDER)
    assert again.status == 409
    fetched = await ingest.client.get(f"/api/v1/silences/{silence['id']}", headers=VIEWER)
    assert (await fetched.json())["state"] == "expired"


async def test_viewer_may_not_create_a_silence(ingest: Ingest) -> None:
    response = await ingest.client.post("/api/v1/silences", json=SILENCE, headers=VIEWER)
    assert response.status == 403
    assert "viewer" in (await response.json())["error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # No matchers.
        ({"matchers": []}, "matchers"),
        # A matcher that does not parse.
        ({"matchers": ["alertname"]}, "matchers[0]"),
        # Matchers that would match every alert.
        ({"matchers": ['instance=~".*"']}, "matchers"),
        # An end before the start.
        ({"starts_at": format_rfc3339(START + timedelta(hours=3))}, "ends_at"),
        # No reason given.
        ({"comment": " "}, "comment"),
        # A misspelt field.
        ({"commnet": "x"}, "commnet"),
        # An end that is null.
        ({"ends_at": None}, "ends_at"),
        # An end past the year 9999 in UTC.
        ({"ends_at": "9999-12-31T23:59:59-01:00"}, "ends_at"),
    ],
)
async def test_invalid_silence_is_refused_naming_the_field(
    ingest: Ingest, change: dict[str, object], field: str
) -> None:
    response = await ingest.client.post(
        "/api/v1/silences", json={**SILENCE, **change}, headers=RESPONDER
    )
    assert response.status == 400
    assert field in [p["field"] for p in (await response.json())["problems"]]
    assert await ingest.client.app[STORE].list_silences() == []


async def test_silence_from_the_api_mutes_matching_alerts(ingest: Ingest) -> None:
    assert (
        await ingest.client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)
    ).status == 201
    await ingest_incidents(ingest)
    incidents = await ingest.client.app[STORE].list_incidents(IncidentQuery())
    disk = next(i for i in incidents if "DiskFull" in i.group_key)
    assert disk.muted
    assert all(a.muted_by is not None for a in disk.alerts.values())


async def test_a_regex_silence_with_escapes_keeps_correlation_running(ingest: Ingest) -> None:
    # In Alertmanager syntax the regex db\d:9100 is written "db\\d:9100" (doubled again here).
    silence = {**SILENCE, "matchers": ['alertname="DiskFull"', 'instance=~"db\\\\d:9100"']}
    created = await ingest.client.post("/api/v1/silences", json=silence, headers=RESPONDER)
    assert created.status == 201
    assert (await created.json())["matchers"][1] == 'instance=~"db\\\\d:9100"'
    await ingest_incidents(ingest)
    incidents = await ingest.client.app[STORE].list_incidents(IncidentQuery())
    assert next(i for i in incidents if "DiskFull" in i.group_key).muted
