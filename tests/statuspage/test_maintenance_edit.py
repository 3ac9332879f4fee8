"""Editing and deleting maintenances and their updates through the status API (issue 12:
before, a maintenance made with POST could not change, so a mistyped window or a
cancelled maintenance stayed on the public page).

Real HTTP on SQLite and on a real redis-server; the built site is read back whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.clock import ManualClock
from core.errors import Conflict, InvalidFields
from core.settings import Settings
from statuspage import records as rec
from statuspage.commands import edit_maintenance_command, maintenance_update_command
from statuspage.model import ComponentStatus, MaintenanceStatus, PublicMaintenance
from statuspage.snapshot import build_snapshot
from statuspage.writer import file_command, new_id
from tests.app_harness import RESPONDER, START, VIEWER
from tests.statuspage.harness import page_app
from tests.statuspage.test_status_api import MAINTENANCES, PAGE_RULES, Client, client, get, post
from tocsin.keys import CLOCK, RULES, STATUS_WRITER, STORE
from tocsin.openapi import build_document
from tocsin.status_listeners import STATUS_FOLLOWER
from tocsin.status_site import SITE_BUILDER

__all__ = ["client"]  # the fixture, on both stores

H = timedelta(hours=1)
SECRET = "db7.internal.example"


def _at(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _new(name: str = "Search index rebuild", starts: datetime = START + H) -> dict[str, Any]:
    return {
        "name": name,
        "scheduled_for": _at(starts),
        "scheduled_until": _at(starts + 2 * H),
        "components": ["search"],
    }


async def _send(client: Client, method: str, path: str, body: object, status: int) -> Any:
    response = await client.request(method, path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    return None if status == 204 else await response.json()


async def _site(client: Client) -> dict[str, str]:
    """Builds the site as serve does (the live snapshot, told what changed): path -> text."""
    builder = client.app[SITE_BUILDER]
    await builder.build()
    return {
        str(p.relative_to(builder.out)): p.read_text(errors="replace")
        for p in builder.out.rglob("*")
        if p.is_file()
    }


def _clock(client: Client) -> ManualClock:
    clock: ManualClock = client.app[CLOCK]  # type: ignore[assignment]
    return clock


async def test_an_edit_moves_renames_and_shows_on_the_built_site(client: Client) -> None:
    created = await post(client, MAINTENANCES, _new("Search upgrade") | {"body": "Reindex."}, 201)
    assert "Search upgrade" in (await _site(client))["index.html"]
    path = f"{MAINTENANCES}/{created['id']}"
    change = {
        "name": "Search index rebuild",
        "scheduled_for": _at(START + 2 * H),
        "scheduled_until": _at(START + 5 * H),
        "components": ["search", "website"],
        "body": "Moved by an hour; the website is down too.",
    }
    edited = await _send(client, "PATCH", path, change, 200)
    assert edited["name"] == "Search index rebuild"
    assert (edited["scheduled_for"], edited["scheduled_until"]) == (
        change["scheduled_for"],
        change["scheduled_until"],
    )
    assert edited["components"] == ["search", "website"]
    newest = edited["incident_updates"][0]
    assert (newest["status"], newest["body"]) == ("scheduled", change["body"])
    assert await get(client, path) == edited
    site = await _site(client)
    assert "Search index rebuild" in site["index.html"]
    assert "Search upgrade" not in "".join(site.values())
    upcoming = orjson.loads(site["api/v2/scheduled-maintenances/upcoming.json"])
    (shown,) = upcoming["scheduled_maintenances"]
    assert shown["name"] == "Search index rebuild"
    assert shown["scheduled_until"] == "2026-11-27T21:12:00.000+01:00"  # the page's zone
    assert {c["id"] for c in shown["components"]} == {"search", "website"}
    # The new window runs by the clock: the website is under maintenance in it.
    _clock(client).advance(3 * H)
    rules = client.app[RULES].current.rules
    snapshot = await build_snapshot(client.app[STORE], rules, _clock(client).now())
    statuses = {c.id: c.status for c in snapshot.components}
    assert statuses["website"] is ComponentStatus.UNDER_MAINTENANCE


async def test_a_deleted_maintenance_leaves_every_output_and_keeps_its_history(
    client: Client,
) -> None:
    created = await post(client, MAINTENANCES, _new(SECRET), 201)
    await _site(client)
    _clock(client).advance(90 * timedelta(minutes=1))
    await client.app[STATUS_WRITER].step()  # in progress from its start: search too
    await client.app[STATUS_FOLLOWER].catch_up()  # as serve's task: the site hears of it
    site = await _site(client)
    assert SECRET in site["index.html"]
    assert SECRET in site["api/v2/scheduled-maintenances/active.json"]
    _clock(client).advance(30 * timedelta(minutes=1))
    path = f"{MAINTENANCES}/{created['id']}"
    await _send(client, "DELETE", path, None, 204)
    await get(client, path, 404)
    assert created["id"] not in orjson.dumps(await get(client, MAINTENANCES)).decode()
    site = await _site(client)
    for name, text in site.items():
        assert SECRET not in text, name
        assert created["id"] not in text, name
    active = orjson.loads(site["api/v2/scheduled-maintenances/active.json"])
    assert active["scheduled_maintenances"] == []
    rules = client.app[RULES].current.rules
    snapshot = await build_snapshot(client.app[STORE], rules, _clock(client).now())
    assert {c.status for c in snapshot.components} == {ComponentStatus.OPERATIONAL}
    # The hour it spent in maintenance stays recorded (and counts as up).
    search = next(h for h in snapshot.histories if h.component_id == "search")
    assert search.days[-1].downtime_seconds == {ComponentStatus.UNDER_MAINTENANCE: 3600}
    assert search.days[-1].uptime == 1.0
    await _send(client, "DELETE", path, None, 404)


async def test_an_update_is_corrected_or_removed_but_never_the_only_one(client: Client) -> None:
    created = await post(client, MAINTENANCES, _new() | {"body": f"{SECRET} gets patched."}, 201)
    path = f"{MAINTENANCES}/{created['id']}"
    first = created["incident_updates"][0]["id"]
    assert SECRET in (await _site(client))["index.html"]
    edited = await _send(client, "PATCH", f"{path}/updates/{first}", {"body": "A patch."}, 200)
    assert [u["body"] for u in edited["incident_updates"]] == ["A patch."]
    assert SECRET not in "".join((await _site(client)).values())
    more = await post(client, f"{path}/updates", {"status": "scheduled", "body": "Later."}, 201)
    second = more["incident_updates"][0]["id"]
    after = await _send(client, "DELETE", f"{path}/updates/{second}", None, 200)
    assert [u["id"] for u in after["incident_updates"]] == [first]
    assert "Later." not in "".join((await _site(client)).values())
    only = await _send(client, "DELETE", f"{path}/updates/{first}", None, 400)
    assert only["field"] == "update_id"
    await _send(client, "DELETE", f"{path}/updates/nope", None, 404)
    await _send(client, "PATCH", f"{path}/updates/nope", {"body": "x"}, 404)
    refused = await _send(client, "PATCH", f"{path}/updates/{first}", {"body": " "}, 400)
    assert refused["field"] == "body"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # Maintenances have no impact: an unknown field is named.
        ({"impact": "major"}, "impact"),
        # Too long a name, as on creation.
        ({"name": "x" * 201}, "name"),
        # Not RFC 3339 with an offset.
        ({"scheduled_for": "tomorrow"}, "scheduled_for"),
        # Beyond the years the records can order.
        ({"scheduled_until": "5000-01-01T00:00:00Z"}, "scheduled_until"),
        # A component the page does not have.
        ({"components": ["billing"]}, "components.billing"),
        # No component at all.
        ({"components": []}, "components"),
        # A status outside Statuspage's values.
        ({"status": "done", "body": "x"}, "status"),
        # A status with no text for its update.
        ({"status": "verifying"}, "body"),
        # Nothing to change.
        ({}, "body"),
        # The end before the (unchanged) start.
        ({"scheduled_until": _at(START + H - timedelta(minutes=1))}, "scheduled_until"),
        # A maintenance not started cannot be moved into the past.
        ({"scheduled_for": _at(START - H)}, "scheduled_for"),
    ],
)
async def test_a_bad_edit_is_a_400_naming_the_field(
    client: Client, change: dict[str, object], field: str
) -> None:
    created = await post(client, MAINTENANCES, _new(), 201)
    answer = await _send(client, "PATCH", f"{MAINTENANCES}/{created['id']}", change, 400)
    assert field in [p["field"] for p in answer["problems"]]
    assert await get(client, f"{MAINTENANCES}/{created['id']}") == created


async def test_what_has_happened_of_a_maintenance_cannot_change(client: Client) -> None:
    created = await post(client, MAINTENANCES, _new(), 201)
    path = f"{MAINTENANCES}/{created['id']}"
    _clock(client).advance(90 * timedelta(minutes=1))  # in progress since START + 1h
    refused = await _send(client, "PATCH", path, {"scheduled_for": _at(START + 3 * H)}, 409)
    assert refused["field"] == "scheduled_for"
    past = {"scheduled_until": _at(START + H + timedelta(minutes=30))}
    assert (await _send(client, "PATCH", path, past, 400))["field"] == "scheduled_until"
    # Its end moves later: the search stays under maintenance past the old end.
    longer = await _send(client, "PATCH", path, {"scheduled_until": _at(START + 6 * H)}, 200)
    assert longer["status"] == "in_progress"
    _clock(client).advance(2 * H)  # after the first end
    await client.app[STATUS_WRITER].step()
    assert (await get(client, path))["status"] == "in_progress"
    site = await _site(client)
    search = next(
        c for c in orjson.loads(site["api/v2/components.json"])["components"] if c["id"] == "search"
    )
    assert search["status"] == "under_maintenance"
    # Completed: its window and components are history; its name can still be corrected.
    await post(client, f"{path}/updates", {"status": "completed", "body": "Done."}, 201)
    for change in (
        {"scheduled_until": _at(START + 9 * H)},
        {"components": ["website"]},
        {"name": "Renamed", "scheduled_for": _at(START + 8 * H)},
    ):
        refused = await _send(client, "PATCH", path, change, 409)
        assert refused["field"] == next(k for k in change if k != "name")
    renamed = await _send(client, "PATCH", path, {"name": "Search index rebuilt"}, 200)
    assert (renamed["name"], renamed["status"]) == ("Search index rebuilt", "completed")
    # Sending its window as it is changes nothing and is no conflict.
    same = {"scheduled_for": renamed["scheduled_for"], "components": ["search"], "name": "S"}
    assert (await _send(client, "PATCH", path, same, 200))["name"] == "S"


async def test_edits_need_a_responder_key_and_a_known_maintenance(client: Client) -> None:
    created = await post(client, MAINTENANCES, _new(), 201)
    path = f"{MAINTENANCES}/{created['id']}"
    uid = created["incident_updates"][0]["id"]
    calls = (
        ("PATCH", path, {"name": "x"}),
        ("DELETE", path, None),
        ("PATCH", f"{path}/updates/{uid}", {"body": "x"}),
        ("DELETE", f"{path}/updates/{uid}", None),
    )
    for method, where, body in calls:
        response = await client.request(method, where, json=body, headers=VIEWER)
        assert response.status == 403, (method, where)
        unknown = where.replace(created["id"], "nope")
        response = await client.request(method, unknown, json=body, headers=RESPONDER)
        assert response.status == 404, (method, unknown)
    assert await get(client, path) == created


# The test page with a rules window on search that starts after START.
WINDOW_RULES = PAGE_RULES.replace(
    "maintenance_windows:\n",
    "maintenance_windows:\n"
    "  - name: search-reindex\n"
    "    matchers: ['service=\"search\"']\n"
    "    from: 2026-12-01T02:00:00Z\n"
    "    to: 2026-12-01T04:00:00Z\n"
    "    components: [search]\n",
)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def window_client(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application of the test page with a rules window, on each store."""
    return await page_app(request, aiohttp_client, make_settings, tmp_path, WINDOW_RULES)


async def test_a_rules_window_is_read_only(window_client: Client) -> None:
    # The writer's first step stores the page's key of the windows' ids (until then each
    # read makes one, so an id listed would name nothing).
    await window_client.app[STATUS_WRITER].step()
    listed = (await get(window_client, MAINTENANCES))["maintenances"]
    (window,) = [m for m in listed if m["source"] == "rules"]
    path = f"{MAINTENANCES}/{window['id']}"
    uid = window["incident_updates"][0]["id"]
    for method, where, body in (
        ("PATCH", path, {"name": "Renamed"}),
        ("DELETE", path, None),
        ("POST", f"{path}/updates", {"status": "completed", "body": "x"}),
        ("PATCH", f"{path}/updates/{uid}", {"body": "x"}),
        ("DELETE", f"{path}/updates/{uid}", None),
    ):
        refused = await _send(window_client, method, where, body, 409)
        assert "read-only, from the rules" in refused["error"], (method, where)
        assert refused["field"] == "id"
    assert await get(window_client, path) == window


# Checked without a store: the rules of a changed window, by what has happened.
T = START
SCHEDULED = PublicMaintenance(
    "m", "Upgrade", MaintenanceStatus.SCHEDULED, T + H, T + 3 * H, ("search",), (), T, T
)


@pytest.mark.parametrize(
    ("status", "change", "error", "field"),
    [
        # A scheduled one may move anywhere to come.
        (MaintenanceStatus.SCHEDULED, {"scheduled_for": _at(T + 2 * H)}, None, None),
        # ... but its start not into the past.
        (MaintenanceStatus.SCHEDULED, {"scheduled_for": _at(T - H)}, InvalidFields, "scheduled_for"),
        # A started one's start is fixed ...
        (MaintenanceStatus.IN_PROGRESS, {"scheduled_for": _at(T + 2 * H)}, Conflict, "scheduled_for"),
        # ... its end moves, but not into the past.
        (MaintenanceStatus.VERIFYING, {"scheduled_until": _at(T - H)}, InvalidFields, "scheduled_until"),
        (MaintenanceStatus.VERIFYING, {"scheduled_until": _at(T + 9 * H)}, None, None),
        # It may change components while it runs.
        (MaintenanceStatus.IN_PROGRESS, {"components": ["website"]}, None, None),
        # A completed one's window and components are history.
        (MaintenanceStatus.COMPLETED, {"scheduled_until": _at(T + 9 * H)}, Conflict, "scheduled_until"),
        (MaintenanceStatus.COMPLETED, {"components": ["website"]}, Conflict, "components"),
        # ... and its text is not.
        (MaintenanceStatus.COMPLETED, {"name": "Fixed", "body": "Sorry."}, None, None),
    ],
)  # fmt: skip
def test_the_window_rules_by_status(
    status: MaintenanceStatus,
    change: dict[str, object],
    error: type[Exception] | None,
    field: str | None,
) -> None:
    current = dataclasses.replace(SCHEDULED, status=status)
    known = {"search", "website"}
    if error is None:
        command = edit_maintenance_command(change, known, current, "c1", T)
        assert command["op"] == "edit_maintenance"
        return
    with pytest.raises(error) as raised:
        edit_maintenance_command(change, known, current, "c1", T)
    assert getattr(raised.value, "field", None) == field


async def test_the_documented_edit_bodies_are_the_ones_the_code_reads(client: Client) -> None:
    # The OpenAPI document's MaintenanceEdit lists each field the code takes, with its
    # limit: at the limit it is taken, one over it is a 400 naming it; others are refused.
    schemas = build_document()["components"]["schemas"]
    edit = schemas["MaintenanceEdit"]
    created = await post(client, MAINTENANCES, _new(), 201)
    path = f"{MAINTENANCES}/{created['id']}"
    refused = await _send(client, "PATCH", path, {"name": "x", "surplus": 1}, 400)
    assert refused["field"] == "surplus"
    assert set(edit["properties"]) == {
        "name", "scheduled_for", "scheduled_until", "components", "body", "status"
    }  # fmt: skip
    for name, field in edit["properties"].items():
        limit = field.get("maxLength")
        if limit is None:
            continue
        await _send(client, "PATCH", path, {name: "x" * limit}, 200)
        over = await _send(client, "PATCH", path, {name: "x" * (limit + 1)}, 400)
        assert over["field"] == name
    (update,) = schemas["PublicIncidentUpdateEdit"]["properties"].values()
    uid = created["incident_updates"][0]["id"]
    over = {"body": "x" * (update["maxLength"] + 1)}
    assert (await _send(client, "PATCH", f"{path}/updates/{uid}", over, 400))["field"] == "body"


async def test_an_edit_filed_before_a_completion_leaves_the_window_as_it_was(
    client: Client,
) -> None:
    # Two replicas: one completed the maintenance, the other's edit (checked while it was
    # scheduled) is applied after it. The writer keeps the completed window as it was.
    created = await post(client, MAINTENANCES, _new(), 201)
    store, now = client.app[STORE], _clock(client).now()
    found = await store.consumer_documents(rec.MAINTENANCES, [created["id"]])
    current = rec.decode_maintenance(found[created["id"]])
    done = {"status": "completed", "body": "Cancelled."}
    await file_command(store, maintenance_update_command(done, current.id, new_id(), now))
    change = {"name": "Renamed", "scheduled_until": _at(START + 9 * H)}
    edit = edit_maintenance_command(change, {"search"}, current, new_id(), now + H / 60)
    await file_command(store, edit)
    _clock(client).advance(H / 60)
    await client.app[STATUS_WRITER].step()
    shown = await get(client, f"{MAINTENANCES}/{created['id']}")
    assert (shown["name"], shown["status"]) == ("Renamed", "completed")
    assert shown["scheduled_until"] == created["scheduled_until"]
