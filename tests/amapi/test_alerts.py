"""GET /api/v2/alerts and /alerts/groups: Tocsin's open alerts as Alertmanager shows them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from core.fingerprint import labels_fingerprint
from tests.amapi.harness import HOOK, PROM, RESPONDER, VIEWER, AmApi, at, basic
from tests.support import poll_until
from tocsin.keys import SETTINGS

DISK = {"alertname": "DiskFull", "instance": "db1:9100", "team": "db"}
NODE_DOWN = {"alertname": "NodeDown", "instance": "db1:9100", "team": "db"}
WEB = {"alertname": "HighLatency", "instance": "web1:9100", "team": "web"}


async def test_an_open_alert_has_alertmanagers_fields(amapi: AmApi) -> None:
    await amapi.post_alerts(WEB)
    [alert] = await amapi.wait_for_alerts(1)
    assert alert["labels"] == WEB
    assert alert["fingerprint"] == labels_fingerprint(WEB)
    assert alert["status"] == {"state": "active", "silencedBy": [], "inhibitedBy": []}
    # The root route names no policy, so its key is the receiver.
    assert alert["receivers"] == [{"name": "{}"}]
    assert alert["endsAt"] == at(timedelta(hours=1))
    assert alert["startsAt"] == at(timedelta(0))
    assert alert["updatedAt"] == at(timedelta(0))  # received then, on the test's clock
    assert alert["annotations"] == {}
    assert "generatorURL" not in alert  # empty, so left out as Alertmanager does


async def test_receivers_are_each_incidents_policy_or_route(amapi: AmApi) -> None:
    # team=db goes to two routes (continue): one alert, two incidents, both receivers.
    await amapi.post_alerts(DISK)
    [alert] = await amapi.wait_for_alerts(1)
    assert sorted(r["name"] for r in alert["receivers"]) == ["db-dashboards", "db-oncall"]
    assert len(await amapi.alerts("?receiver=db-on.*")) == 1
    assert await amapi.alerts("?receiver=db") == []  # the pattern must match whole


async def test_a_silenced_alert_is_suppressed_by_its_silence_id(amapi: AmApi) -> None:
    silence = {
        "matchers": [{"name": "alertname", "value": "HighLatency", "isRegex": False}],
        "startsAt": at(timedelta(0)),
        "endsAt": at(timedelta(hours=2)),
        "createdBy": "ana",
        "comment": "deploying",
    }
    created = await amapi.client.post("/api/v2/silences", json=silence, headers=RESPONDER)
    silence_id = (await created.json())["silenceID"]
    await amapi.post_alerts(WEB, DISK)
    await amapi.wait_for_alerts(2)
    [alert] = await amapi.alerts("?filter=alertname%3D%22HighLatency%22")
    assert alert["status"] == {"state": "suppressed", "silencedBy": [silence_id], "inhibitedBy": []}
    # amtool's --silenced flag: silenced alerts are left out unless asked for.
    assert [a["labels"] for a in await amapi.alerts("?silenced=false")] == [DISK]
    assert [a["labels"] for a in await amapi.alerts("?active=false")] == [WEB]


async def test_an_inhibited_alert_names_the_inhibiting_alerts_fingerprint(amapi: AmApi) -> None:
    await amapi.post_alerts(NODE_DOWN)
    await amapi.wait_for_alerts(1)
    await amapi.post_alerts(DISK)
    await amapi.wait_for_alerts(2)
    [disk] = await amapi.alerts('?filter=alertname="DiskFull"')
    assert disk["status"] == {
        "state": "suppressed",
        "silencedBy": [],
        "inhibitedBy": [labels_fingerprint(NODE_DOWN)],
    }
    assert [a["labels"] for a in await amapi.alerts("?inhibited=false")] == [NODE_DOWN]


async def test_rules_silences_mute_by_their_rules_ids(amapi: AmApi) -> None:
    legacy = {"alertname": "Up", "instance": "legacy:9100"}
    old = {"alertname": "Up", "instance": "old:9100"}
    await amapi.post_alerts(legacy, old)
    alerts = await amapi.wait_for_alerts(2)
    by_instance = {a["labels"]["instance"]: a["status"]["silencedBy"] for a in alerts}
    # The named one by its name, the unnamed second one by its position.
    assert by_instance == {"legacy:9100": ["rules:legacy"], "old:9100": ["rules:2"]}


async def test_filters_take_alertmanagers_matchers(amapi: AmApi) -> None:
    await amapi.post_alerts(WEB, DISK, NODE_DOWN)
    await amapi.wait_for_alerts(3)
    cases = [
        # (filters, alertnames shown)
        (['alertname="DiskFull"'], ["DiskFull"]),
        (['alertname=~"Disk.*|Node.*"', 'team="db"'], ["DiskFull", "NodeDown"]),
        (['team!="db"'], ["HighLatency"]),
        (['{alertname="NodeDown"}'], ["NodeDown"]),
        # An empty value matches an absent label, as in Alertmanager.
        (['severity=""'], ["DiskFull", "HighLatency", "NodeDown"]),
        # RE2: a whole-value match.
        (['alertname=~"Disk"'], []),
    ]
    for filters, names in cases:
        query = "?" + "&".join(f"filter={f}" for f in filters)
        shown = await amapi.alerts(query.replace("+", "%2B"))
        assert sorted(a["labels"]["alertname"] for a in shown) == names, filters


async def test_alerts_are_sorted_by_fingerprint(amapi: AmApi) -> None:
    label_sets = [{"alertname": "Many", "instance": f"h{n}"} for n in range(30)]
    await amapi.post_alerts(*label_sets)
    alerts = await amapi.wait_for_alerts(30)
    fingerprints = [a["fingerprint"] for a in alerts]
    assert fingerprints == sorted(labels_fingerprint(s) for s in label_sets)


async def test_bad_parameters_are_400s_with_a_string_body(amapi: AmApi) -> None:
    for query, field in [
        ("?filter=alertname", "filter"),
        ('?filter=alertname=~"(?=x)"', "filter"),
        ("?receiver=(", "receiver"),
        ("?active=maybe", "active"),
    ]:
        response = await amapi.client.get(f"/api/v2/alerts{query}", headers=VIEWER)
        assert response.status == 400, query
        body = await response.json()
        assert isinstance(body, str)
        assert body.startswith(field), body


async def test_groups_are_open_incidents(amapi: AmApi) -> None:
    await amapi.post_alerts(WEB, {**WEB, "instance": "web2:9100"}, DISK)
    await amapi.wait_for_alerts(3)
    response = await amapi.client.get("/api/v2/alerts/groups", headers=VIEWER)
    groups = await response.json()
    summary = [
        (g["labels"], g["receiver"]["name"], sorted(a["labels"]["instance"] for a in g["alerts"]))
        for g in groups
    ]
    assert summary == [
        ({"alertname": "DiskFull"}, "db-dashboards", ["db1:9100"]),
        ({"alertname": "DiskFull"}, "db-oncall", ["db1:9100"]),
        ({"alertname": "HighLatency"}, "{}", ["web1:9100", "web2:9100"]),
    ]
    only = await amapi.client.get("/api/v2/alerts/groups?receiver=db-oncall", headers=VIEWER)
    assert [g["receiver"]["name"] for g in await only.json()] == ["db-oncall"]
    none = await amapi.client.get('/api/v2/alerts/groups?filter=team="nobody"', headers=VIEWER)
    assert await none.json() == []
    # A matcher keeps the groups with an alert it matches, and only those alerts.
    web2 = await amapi.client.get(
        '/api/v2/alerts/groups?filter=instance="web2:9100"', headers=VIEWER
    )
    [group] = await web2.json()
    assert [a["labels"]["instance"] for a in group["alerts"]] == ["web2:9100"]


async def test_resolved_alerts_are_not_open(amapi: AmApi) -> None:
    await amapi.post_alerts(WEB, DISK)
    await amapi.wait_for_alerts(2)
    body = [{"labels": WEB, "startsAt": at(timedelta(0)), "endsAt": at(timedelta(0))}]
    response = await amapi.client.post(
        "/api/v2/alerts", json=body, headers=basic("prometheus", "prom-secret")
    )
    assert response.status == 200
    [left] = await amapi.wait_for_alerts(1)
    assert left["labels"] == DISK


async def test_reads_need_a_key_as_bearer_or_basic_password(amapi: AmApi) -> None:
    cases = [
        # (headers, status)
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        (basic("anyone", "wrong"), 401),
        ({"Authorization": "Basic !!!"}, 401),
        (VIEWER, 200),
        (basic("grafana", "viewer-key"), 200),  # the user name is not checked
        (basic("", "viewer-key"), 200),
    ]
    for headers, status in cases:
        for path in ["/api/v2/alerts", "/api/v2/alerts/groups", "/api/v2/silences"]:
            response = await amapi.client.get(path, headers=headers)
            assert response.status == status, (path, headers)


async def test_a_reload_of_the_rules_renders_the_alerts_again(amapi: AmApi) -> None:
    body = {"labels": WEB, "summary": "slow"}  # a webhook alert has no end: firing until resolved
    response = await amapi.client.post("/ingest/webhook", json=body, headers=HOOK)
    assert response.status == 200
    [alert] = await amapi.wait_for_alerts(1)
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"  # Go's zero time: no end
    rules = amapi.client.app[SETTINGS].rules
    rules.write_text(rules.read_text() + "correlation: {resolve_timeout: 5m}\n")
    reloaded = await amapi.client.post("/-/reload", headers={"Authorization": "Bearer admin-key"})
    assert reloaded.status == 200, await reloaded.text()
    [alert] = await amapi.alerts()
    # Now an alert without an end expires resolve_timeout after its last report.
    assert alert["endsAt"] == at(timedelta(minutes=5))


async def test_concurrent_reads_give_the_same_answer(amapi: AmApi) -> None:
    await amapi.post_alerts(*({"alertname": "Many", "instance": f"h{n}"} for n in range(50)))
    await amapi.wait_for_alerts(50)
    await amapi.post_alerts(WEB)  # a change: the next reads render its incident again
    await amapi.wait_for_alerts(51)
    first, second = await asyncio.gather(amapi.alerts(), amapi.alerts())
    assert first == second
    assert len(first) == 51


async def test_a_changed_incident_shows_its_changes_and_keeps_the_rest(amapi: AmApi) -> None:
    hosts = [{"alertname": "Many", "instance": f"h{n:02d}"} for n in range(30)]
    await amapi.post_alerts(*hosts)
    before = await amapi.wait_for_alerts(30)  # rendered now, kept for the next reads
    # One alert of the incident resolves, and a silence mutes another from the sweep on.
    body = [{"labels": hosts[0], "startsAt": at(timedelta(0)), "endsAt": at(timedelta(0))}]
    assert (await amapi.client.post("/api/v2/alerts", json=body, headers=PROM)).status == 200
    silence = {
        "matchers": [{"name": "instance", "value": "h01", "isRegex": False}],
        "startsAt": at(timedelta(0)),
        "endsAt": at(timedelta(hours=1)),
        "createdBy": "ana",
        "comment": "one host",
    }
    created = await amapi.client.post("/api/v2/silences", json=silence, headers=RESPONDER)
    silence_id = (await created.json())["silenceID"]

    async def changed() -> list[dict[str, Any]] | None:
        amapi.clock.advance(timedelta(seconds=5))  # the sweep re-evaluates the mutes
        shown: list[dict[str, Any]] = await amapi.alerts()
        muted = [a for a in shown if a["status"]["silencedBy"] == [silence_id]]
        return shown if len(shown) == 29 and muted else None

    after = await poll_until(changed, deadline_seconds=10, interval=0.05)
    by_instance = {a["labels"]["instance"]: a for a in after}
    assert "h00" not in by_instance
    assert by_instance["h01"]["status"]["state"] == "suppressed"
    # The others are what they were.
    unchanged = {
        a["fingerprint"]: a for a in before if a["labels"]["instance"] not in {"h00", "h01"}
    }
    assert [a for a in after if a["fingerprint"] in unchanged] == list(unchanged.values())
