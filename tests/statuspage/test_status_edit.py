"""Editing, redacting and deleting public incidents and updates through the status API
(review 12 finding 3: before, PATCH and DELETE were 405 and a pasted hostname stayed).

Real HTTP on SQLite and on a real redis-server; the built site is checked too.
"""

from __future__ import annotations

from typing import Any

import orjson

from statuspage.model import ComponentStatus
from statuspage.snapshot import build_snapshot
from tests.app_harness import RESPONDER, VIEWER
from tests.statuspage.test_status_api import INCIDENTS, NEW, Client, client, get, post
from tocsin.keys import CLOCK, RULES, STORE
from tocsin.status_site import SITE_BUILDER

__all__ = ["client"]  # the fixture, on both stores

SECRET = "db7.internal.example"


async def _send(client: Client, method: str, path: str, body: object, status: int) -> Any:
    response = await client.request(method, path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    return None if status == 204 else await response.json()


async def _site_text(client: Client) -> str:
    builder = client.app[SITE_BUILDER]
    await builder.build()
    return "\n".join(p.read_text(errors="replace") for p in builder.out.rglob("*") if p.is_file())


async def test_an_update_is_redacted_everywhere(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW | {"body": f"{SECRET} is down."}, 201)
    uid = created["incident_updates"][0]["id"]
    assert SECRET in await _site_text(client)
    path = f"{INCIDENTS}/{created['id']}/updates/{uid}"
    edited = await _send(client, "PATCH", path, {"body": "A database node is down."}, 200)
    assert edited["incident_updates"][0]["body"] == "A database node is down."
    assert SECRET not in orjson.dumps(await get(client, f"{INCIDENTS}/{created['id']}")).decode()
    assert SECRET not in await _site_text(client)


async def test_an_incident_is_renamed_and_its_impact_corrected(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW, 201)
    path = f"{INCIDENTS}/{created['id']}"
    edited = await _send(client, "PATCH", path, {"name": "Card payments slow"}, 200)
    assert (edited["name"], edited["impact"]) == ("Card payments slow", "major")
    edited = await _send(client, "PATCH", path, {"impact": "minor"}, 200)
    assert (edited["name"], edited["impact"]) == ("Card payments slow", "minor")
    assert len(edited["incident_updates"]) == 1
    refused = await _send(client, "PATCH", path, {}, 400)
    assert refused["problems"][0]["field"] == "body"
    refused = await _send(client, "PATCH", path, {"impact": "awful", "x": 1}, 400)
    assert {p["field"] for p in refused["problems"]} == {"impact", "x"}


async def test_an_update_is_deleted_but_never_the_only_one(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW, 201)
    path = f"{INCIDENTS}/{created['id']}"
    first = created["incident_updates"][0]["id"]
    more = await post(client, f"{path}/updates", {"status": "identified", "body": SECRET}, 201)
    second = more["incident_updates"][0]["id"]
    after = await _send(client, "DELETE", f"{path}/updates/{second}", None, 200)
    assert [u["id"] for u in after["incident_updates"]] == [first]
    assert SECRET not in await _site_text(client)
    only = await _send(client, "DELETE", f"{path}/updates/{first}", None, 400)
    assert only["problems"][0]["field"] == "update_id"
    await _send(client, "DELETE", f"{path}/updates/nope", None, 404)
    await _send(client, "PATCH", f"{path}/updates/nope", {"body": "x"}, 404)


async def test_a_deleted_incident_leaves_the_page_and_its_components(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW | {"name": SECRET}, 201)
    path = f"{INCIDENTS}/{created['id']}"
    assert SECRET in await _site_text(client)
    await _send(client, "DELETE", path, None, 204)
    await get(client, path, 404)
    assert (await get(client, INCIDENTS))["incidents"] == []
    await _send(client, "DELETE", path, None, 404)
    rules = client.app[RULES].current.rules
    snapshot = await build_snapshot(client.app[STORE], rules, client.app[CLOCK].now())
    assert {c.status for c in snapshot.components} == {ComponentStatus.OPERATIONAL}
    assert snapshot.incidents == ()
    site = await _site_text(client)
    assert SECRET not in site
    assert created["id"] not in site


async def test_edits_need_a_responder_key(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW, 201)
    path = f"{INCIDENTS}/{created['id']}"
    uid = created["incident_updates"][0]["id"]
    for method, where, body in (
        ("PATCH", path, {"name": "x"}),
        ("DELETE", path, None),
        ("PATCH", f"{path}/updates/{uid}", {"body": "x"}),
        ("DELETE", f"{path}/updates/{uid}", None),
    ):
        response = await client.request(method, where, json=body, headers=VIEWER)
        assert response.status == 403, (method, where)


async def test_the_page_keeps_one_secret_key_for_window_ids(client: Client) -> None:
    # The key of the rules' maintenance ids (review 12 finding 5) is made once, stored
    # by the writer, and the same for every later read (so ids hold across replicas).
    from statuspage import records as rec

    await post(client, INCIDENTS, NEW, 201)
    store = client.app[STORE]
    first = (await store.consumer_documents(rec.STATE, [rec.STATE_KEY]))[rec.STATE_KEY]
    await post(client, INCIDENTS, NEW, 201)
    again = (await store.consumer_documents(rec.STATE, [rec.STATE_KEY]))[rec.STATE_KEY]
    assert len(first["id_key"]) == 32
    assert again["id_key"] == first["id_key"]
    assert rec.PageState.decode(again).id_key == first["id_key"]
    assert not rec.PageState.decode(again).fresh_key
