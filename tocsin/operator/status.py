"""The status page's operator API: public incidents and scheduled maintenance.

- ``GET /api/v1/status/incidents?limit=N&cursor=C`` (at most :data:`MAX_LIMIT`), newest
  first, each with its :data:`LIST_UPDATES` newest updates and ``incident_updates_count``,
  and ``next``, the link to the following page (null after the last);
  ``GET .../incidents/{id}`` has all its updates;
- ``POST /api/v1/status/incidents`` ``{name, body, status?, impact?, components?}`` -> 201;
- ``POST /api/v1/status/incidents/{id}/updates`` ``{status, body, components?}`` -> 201;
- ``PATCH /api/v1/status/incidents/{id}`` ``{name?, impact?}`` -> 200;
  ``DELETE .../incidents/{id}`` -> 204;
- ``PATCH /api/v1/status/incidents/{id}/updates/{update_id}`` ``{body}`` -> 200 (correct
  or redact an update's text); ``DELETE`` it -> 200 (not an incident's only update: 400);
- ``GET /api/v1/status/maintenances?limit=N&cursor=C`` (the API's and the rules' windows,
  latest start first; paged as the incidents' list), ``.../{id}``;
- ``POST /api/v1/status/maintenances``
  ``{name, scheduled_for, scheduled_until, components, body?, status?}`` -> 201;
- ``POST /api/v1/status/maintenances/{id}/updates`` ``{status, body}`` -> 201;
- ``PATCH /api/v1/status/maintenances/{id}`` ``{name?, scheduled_for?, scheduled_until?,
  components?, body?, status?}`` -> 200 (``body`` adds an update); ``DELETE`` it -> 204;
- ``PATCH /api/v1/status/maintenances/{id}/updates/{update_id}`` ``{body}`` -> 200;
  ``DELETE`` it -> 200 (not a maintenance's only update: 400).

A list's cursor is a place in its order (incidents: creation time and id, newest first;
maintenances: start and id, latest first; the store's order, ``records.newest_first_due``):
a page reads the store from there, so a walk neither repeats nor skips an item while
others are added (one added before the place is not in this walk). The rules' windows
are placed in the maintenances' order by their start too, and merged with the page.

The rules' windows (``window-...``) are read-only here: a write naming one is a 409
(they change when the rules do).

Every write takes an ``Idempotency-Key`` (as the incident API: at most 200 printable
ASCII characters, per API key, kept 24 hours): a retry of a request that acted answers
what it answered (status, and the incident or maintenance as it is now), with
``Idempotent-Replayed: true``, without acting again, even when both were filed before
either was applied (the writer records the key with the command that acts,
``statuspage.writer``); the same key with another request is a 422. A creation's id is
derived from the key, so a 202's id is the one a retry names too.

Reads need a viewer key, writes a responder key. Bodies are checked strictly
(``statuspage.commands``). A write is filed as a command for the page's one writer
(``statuspage.writer``), which this process runs at once when it holds the writer's
lease; otherwise the replica holding it applies it within a poll, and the answer waits
for that (a 202 if it takes longer than :data:`WAIT`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from core.errors import Conflict, FieldProblem, IdempotencyMismatch, InvalidFields, NotFound
from core.store import ListPosition, Store
from core.timestamps import format_rfc3339, from_micros
from rules.api_keys import Role
from statuspage import records as rec
from statuspage.commands import (
    check_not_reopened,
    delete_command,
    edit_incident_command,
    edit_maintenance_command,
    edit_maintenance_update_command,
    edit_update_command,
    full_timeline,
    incident_command,
    maintenance_command,
    maintenance_delete_command,
    maintenance_update_command,
    update_command,
    with_idempotency_key,
)
from statuspage.maintenance import effective, window_maintenances
from statuspage.model import PublicIncident, PublicMaintenance
from statuspage.records import IncidentRecord
from statuspage.snapshot import read_state
from statuspage.writer import command_failed, command_pending, file_command, new_id
from tocsin.keys import CLOCK, RULES, STATUS_WRITER, STORE
from tocsin.operator.auth import require
from tocsin.operator.idempotency import IdempotencyKey, idempotency_key
from tocsin.operator.json_body import read_json_body
from tocsin.operator.params import cursor_param, encode_position, int_param, unknown_params
from tocsin.status_listeners import STATUS_FOLLOWER

MAX_BODY_BYTES = 64 * 1024
# A list answer is bounded: at most MAX_LIMIT items of LIST_UPDATES updates each (of
# 10,000 characters at most): 5 million characters (1,000 x 100 before, about 1 GB);
# one item's GET has all its updates.
MAX_LIMIT = 100
LIST_UPDATES = 5
LIST_PARAMS = ("limit", "cursor")
# How long a write waits for another replica's writer to apply it.
WAIT = timedelta(seconds=5)
_POLL_SECONDS = 0.05


def add_status_routes(router: web.UrlDispatcher) -> None:
    """Registers the status page endpoints."""
    router.add_get("/api/v1/status/incidents", list_incidents)
    router.add_post("/api/v1/status/incidents", create_incident)
    router.add_get("/api/v1/status/incidents/{id}", get_incident)
    router.add_patch("/api/v1/status/incidents/{id}", edit_incident)
    router.add_delete("/api/v1/status/incidents/{id}", delete_incident)
    router.add_post("/api/v1/status/incidents/{id}/updates", add_incident_update)
    router.add_patch("/api/v1/status/incidents/{id}/updates/{update_id}", edit_incident_update)
    router.add_delete("/api/v1/status/incidents/{id}/updates/{update_id}", delete_incident_update)
    router.add_get("/api/v1/status/maintenances", list_maintenances)
    router.add_post("/api/v1/status/maintenances", create_maintenance)
    router.add_get("/api/v1/status/maintenances/{id}", get_maintenance)
    router.add_patch("/api/v1/status/maintenances/{id}", edit_maintenance)
    router.add_delete("/api/v1/status/maintenances/{id}", delete_maintenance)
    router.add_post("/api/v1/status/maintenances/{id}/updates", add_maintenance_update)
    maintenance_update = "/api/v1/status/maintenances/{id}/updates/{update_id}"
    router.add_patch(maintenance_update, edit_maintenance_update)
    router.add_delete(maintenance_update, delete_maintenance_update)


def _components(request: web.Request) -> set[str]:
    return {c.name for c in request.app[RULES].current.rules.status_page.components}


async def list_incidents(request: web.Request) -> web.Response:
    """Lists a page of public incidents, newest first: ``?limit=N`` (100) from ``cursor``,
    their newest updates, and ``next``."""
    require(request, Role.VIEWER)
    limit, place = _page(request)
    store = request.app[STORE]
    found = await store.due_documents(rec.INCIDENTS, rec.EVERYTHING, limit + 1, after=place)
    incidents = [IncidentRecord.decode(raw).incident for _, raw in found[:limit]]
    views = [incident_view(incident, LIST_UPDATES) for incident in incidents]
    last = ListPosition(incidents[-1].created_at, incidents[-1].id) if incidents else None
    following = _next(request, last if len(found) > limit else None)
    return web.json_response({"incidents": views, "next": following})


async def get_incident(request: web.Request) -> web.Response:
    """Returns one public incident; 404 if there is none with that id."""
    require(request, Role.VIEWER)
    record = await _incident(request.app[STORE], request.match_info["id"])
    return web.json_response(incident_view(record.incident))


async def create_incident(request: web.Request) -> web.Response:
    """Creates a public incident; 201 with it."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "incidents", 201)) is not None:
        return replay
    now = request.app[CLOCK].now()
    public_id = new_id() if key is None else key.key[:16]
    command = incident_command(body, _components(request), public_id, new_id(), now)
    return await _apply(request, command, "incidents", 201, key)


async def add_incident_update(request: web.Request) -> web.Response:
    """Adds an update to a public incident; 201 with the incident."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "incidents", 201)) is not None:
        return replay
    record = await _incident(request.app[STORE], request.match_info["id"])
    full = full_timeline(len(record.incident.updates), body)
    if full is not None:
        raise InvalidFields([full])
    now = request.app[CLOCK].now()
    impact = record.incident.impact
    command = update_command(body, _components(request), record.incident.id, new_id(), now, impact)
    return await _apply(request, command, "incidents", 201, key)


async def edit_incident(request: web.Request) -> web.Response:
    """Corrects a public incident's name or impact; 200 with the incident."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "incidents", 200)) is not None:
        return replay
    record = await _incident(request.app[STORE], request.match_info["id"])
    now = request.app[CLOCK].now()
    command = edit_incident_command(body, record.incident.id, new_id(), now)
    return await _apply(request, command, "incidents", 200, key)


async def delete_incident(request: web.Request) -> web.Response:
    """Removes a public incident from the page; 204."""
    key = _key(request, None)
    if (replay := await _replay(request, key, "incidents", 204)) is not None:
        return replay
    record = await _incident(request.app[STORE], request.match_info["id"])
    now = request.app[CLOCK].now()
    command = delete_command("delete_incident", record.incident.id, new_id(), now)
    return await _apply(request, command, "incidents", 204, key)


async def edit_incident_update(request: web.Request) -> web.Response:
    """Replaces an update's text (a correction, or a redaction); 200 with the incident."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "incidents", 200)) is not None:
        return replay
    record, update_id = await _incident_update(request)
    now = request.app[CLOCK].now()
    command = edit_update_command(body, record.incident.id, update_id, new_id(), now)
    return await _apply(request, command, "incidents", 200, key)


async def delete_incident_update(request: web.Request) -> web.Response:
    """Removes an update from an incident's timeline; 200 with the incident. An incident's
    only update is not removed (400): delete the incident."""
    key = _key(request, None)
    if (replay := await _replay(request, key, "incidents", 200)) is not None:
        return replay
    record, update_id = await _incident_update(request)
    if len(record.incident.updates) == 1:
        only = "is the incident's only update; delete the incident instead"
        raise InvalidFields([FieldProblem("update_id", only)])
    now = request.app[CLOCK].now()
    command = delete_command("delete_update", record.incident.id, new_id(), now, update_id)
    return await _apply(request, command, "incidents", 200, key)


async def _incident_update(request: web.Request) -> tuple[IncidentRecord, str]:
    record = await _incident(request.app[STORE], request.match_info["id"])
    update_id = request.match_info["update_id"]
    if all(u.id != update_id for u in record.incident.updates):
        raise NotFound(f"no update {update_id!r} of public incident {record.incident.id!r}")
    return record, update_id


async def list_maintenances(request: web.Request) -> web.Response:
    """Lists a page of maintenances (the API's and the rules' windows), latest start
    first (then by id): ``?limit=N`` (100) from ``cursor``, and ``next``.

    The store's page after the cursor and the windows after it, merged: the first
    ``limit`` of both are among the store's first ``limit`` and every window.
    """
    require(request, Role.VIEWER)
    limit, place = _page(request)
    now = request.app[CLOCK].now()
    rules = request.app[RULES].current.rules
    store = request.app[STORE]
    found = await store.due_documents(rec.MAINTENANCES, rec.EVERYTHING, limit + 1, after=place)
    stored = [effective(rec.decode_maintenance(raw), now) for _, raw in found]
    key = (await read_state(store)).id_key
    windows = window_maintenances(rules.maintenance_windows, rules.status_page, now, key)
    later = [w for w in windows if place is None or _maintenance_place(w) > place]
    every = sorted([*stored, *later], key=_maintenance_place)
    shown = every[:limit]
    last = ListPosition(shown[-1].scheduled_for, shown[-1].id) if shown else None
    following = _next(request, last if len(every) > limit else None)
    views = [maintenance_view(m, LIST_UPDATES) for m in shown]
    return web.json_response({"maintenances": views, "next": following})


def _maintenance_place(maintenance: PublicMaintenance) -> tuple[datetime, str]:
    """Where a maintenance is in the list's (and the store's) order."""
    return rec.newest_first_due(maintenance.scheduled_for), maintenance.id


async def get_maintenance(request: web.Request) -> web.Response:
    """Returns one maintenance; 404 if there is none with that id."""
    require(request, Role.VIEWER)
    now = request.app[CLOCK].now()
    found = await _maintenance(request, request.match_info["id"], now)
    return web.json_response(maintenance_view(found))


async def create_maintenance(request: web.Request) -> web.Response:
    """Schedules a maintenance; 201 with it."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "maintenances", 201)) is not None:
        return replay
    now = request.app[CLOCK].now()
    maintenance_id = new_id() if key is None else key.key[:16]
    command = maintenance_command(body, _components(request), maintenance_id, new_id(), now)
    return await _apply(request, command, "maintenances", 201, key)


async def add_maintenance_update(request: web.Request) -> web.Response:
    """Adds an update (and its status) to a maintenance of the API; 201 with it."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "maintenances", 201)) is not None:
        return replay
    now = request.app[CLOCK].now()
    stored = await _api_maintenance(request, now)
    full = full_timeline(len(stored.updates), body)
    if full is not None:
        raise InvalidFields([full])
    command = maintenance_update_command(body, stored.id, new_id(), now)
    check_not_reopened(effective(stored, now), command["fields"]["status"])
    return await _apply(request, command, "maintenances", 201, key)


async def edit_maintenance(request: web.Request) -> web.Response:
    """Corrects a maintenance of the API: name, window, components; ``body`` adds an
    update. 409 naming the field for what has happened (``commands``); 200 with it."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "maintenances", 200)) is not None:
        return replay
    now = request.app[CLOCK].now()
    stored = await _api_maintenance(request, now)
    if isinstance(body, dict) and "body" in body:
        full = full_timeline(len(stored.updates), body)
        if full is not None:
            raise InvalidFields([full])
    current = effective(stored, now)
    command = edit_maintenance_command(body, _components(request), current, new_id(), now)
    return await _apply(request, command, "maintenances", 200, key)


async def delete_maintenance(request: web.Request) -> web.Response:
    """Removes a maintenance of the API from the page; 204."""
    key = _key(request, None)
    if (replay := await _replay(request, key, "maintenances", 204)) is not None:
        return replay
    now = request.app[CLOCK].now()
    stored = await _api_maintenance(request, now)
    command = maintenance_delete_command("delete_maintenance", stored.id, new_id(), now)
    return await _apply(request, command, "maintenances", 204, key)


async def edit_maintenance_update(request: web.Request) -> web.Response:
    """Replaces a maintenance update's text (a correction, or a redaction); 200 with it."""
    key, body = await _keyed_body(request)
    if (replay := await _replay(request, key, "maintenances", 200)) is not None:
        return replay
    now = request.app[CLOCK].now()
    stored, update_id = await _maintenance_update(request, now)
    command = edit_maintenance_update_command(body, stored.id, update_id, new_id(), now)
    return await _apply(request, command, "maintenances", 200, key)


async def delete_maintenance_update(request: web.Request) -> web.Response:
    """Removes an update from a maintenance's timeline; 200 with it. Its only update is
    not removed (400): delete the maintenance."""
    key = _key(request, None)
    if (replay := await _replay(request, key, "maintenances", 200)) is not None:
        return replay
    now = request.app[CLOCK].now()
    stored, update_id = await _maintenance_update(request, now)
    if len(stored.updates) == 1:
        only = "is the maintenance's only update; delete the maintenance instead"
        raise InvalidFields([FieldProblem("update_id", only)])
    op = "delete_maintenance_update"
    command = maintenance_delete_command(op, stored.id, new_id(), now, update_id)
    return await _apply(request, command, "maintenances", 200, key)


async def _api_maintenance(request: web.Request, now: datetime) -> PublicMaintenance:
    """The stored maintenance the path names (its stored status): 404 if there is none,
    409 if it is a window of the rules (read-only here)."""
    maintenance_id = request.match_info["id"]
    found = await request.app[STORE].consumer_documents(rec.MAINTENANCES, [maintenance_id])
    if maintenance_id in found:
        return rec.decode_maintenance(found[maintenance_id])
    await _maintenance(request, maintenance_id, now)  # NotFound when it is not a window
    raise Conflict(
        f"maintenance {maintenance_id!r} is read-only, from the rules: it changes when "
        "the rules' maintenance_windows do",
        field="id",
    )


async def _maintenance_update(request: web.Request, now: datetime) -> tuple[PublicMaintenance, str]:
    stored = await _api_maintenance(request, now)
    update_id = request.match_info["update_id"]
    if all(u.id != update_id for u in stored.updates):
        raise NotFound(f"no update {update_id!r} of maintenance {stored.id!r}")
    return stored, update_id


async def _apply(
    request: web.Request,
    command: dict[str, Any],
    kind: str,
    status: int,
    idempotency: IdempotencyKey | None,
) -> web.Response:
    """Files the command, has it applied, and answers with what it created or changed
    (with an Idempotency-Key: what the command that acted for the key did)."""
    store = request.app[STORE]
    if idempotency is not None:
        command = with_idempotency_key(command, idempotency.key, idempotency.request)
    key = await file_command(store, command)
    writer = request.app.get(STATUS_WRITER)
    if writer is not None:
        await writer.step()
    deadline = asyncio.get_running_loop().time() + WAIT.total_seconds()
    # Another replica holds the writer's lease: it applies the command at its next poll.
    while await command_pending(store, key):
        if asyncio.get_running_loop().time() >= deadline:
            accepted = {"id": command["id"], "state": "accepted"}
            return web.json_response(accepted, status=202)
        await asyncio.sleep(_POLL_SECONDS)
    follower = request.app.get(STATUS_FOLLOWER)
    if follower is not None:  # this replica's site rebuilds now, whoever applied it
        await follower.catch_up()
    if await command_failed(store, key) is not None:
        # Set aside by the writer (logged with its error); later commands went on.
        failed = {"error": "the status page could not apply this request; it was set aside"}
        return web.json_response(failed, status=500)
    acted = None if idempotency is None else await _acted(request, idempotency)
    if acted is not None and acted["command"] != key:
        # A retry filed before the first attempt was applied: the writer let one act.
        return await _replayed(request, kind, str(acted["id"]), status)
    return await _answer(request, kind, command["id"], status)


async def _answer(request: web.Request, kind: str, target: str, status: int) -> web.Response:
    """The answer of a write: nothing (204), or the incident or maintenance as it is now."""
    if status == 204:
        return web.Response(status=204)
    if kind == "incidents":
        view = incident_view((await _incident(request.app[STORE], target)).incident)
    else:
        view = maintenance_view(await _maintenance(request, target, request.app[CLOCK].now()))
    headers = {"Location": f"/api/v1/status/{kind}/{target}"} if status == 201 else {}
    return web.json_response(view, status=status, headers=headers)


def _key(request: web.Request, body: object) -> IdempotencyKey | None:
    """Checks the responder key; the request's Idempotency-Key (400 if malformed)."""
    api_key = require(request, Role.RESPONDER)
    return idempotency_key(request, api_key.name, body)


async def _keyed_body(request: web.Request) -> tuple[IdempotencyKey | None, Any]:
    """Checks the responder key; the request's Idempotency-Key and its body."""
    api_key = require(request, Role.RESPONDER)
    body = await _read_body(request)
    return idempotency_key(request, api_key.name, body), body


async def _acted(request: web.Request, key: IdempotencyKey) -> dict[str, Any] | None:
    """What the request that acted for this key did (not expired); 422 if it was another."""
    found = (await request.app[STORE].consumer_documents(rec.IDEMPOTENCY, [key.key])).get(key.key)
    now = request.app[CLOCK].now()
    if found is None or from_micros(found["created_at"]) + rec.IDEMPOTENCY_KEEP <= now:
        return None
    if found["request"] != key.request:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with another request (method, path or body)"
        )
    return found


async def _replay(
    request: web.Request, key: IdempotencyKey | None, kind: str, status: int
) -> web.Response | None:
    """The answer again, if a request with this Idempotency-Key acted already."""
    acted = None if key is None else await _acted(request, key)
    if acted is None:
        return None
    return await _replayed(request, kind, str(acted["id"]), status)


async def _replayed(request: web.Request, kind: str, target: str, status: int) -> web.Response:
    """The answer of a replay: the first attempt's status, what it wrote to as it is now."""
    response = await _answer(request, kind, target, status)
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def _incident(store: Store, public_id: str) -> IncidentRecord:
    found = await store.consumer_documents(rec.INCIDENTS, [public_id])
    if public_id not in found:
        raise NotFound(f"no public incident {public_id!r}")
    return IncidentRecord.decode(found[public_id])


async def _maintenance(
    request: web.Request, maintenance_id: str, now: datetime
) -> PublicMaintenance:
    found = await request.app[STORE].consumer_documents(rec.MAINTENANCES, [maintenance_id])
    if maintenance_id in found:
        return effective(rec.decode_maintenance(found[maintenance_id]), now)
    rules = request.app[RULES].current.rules
    key = (await read_state(request.app[STORE])).id_key
    for window in window_maintenances(rules.maintenance_windows, rules.status_page, now, key):
        if window.id == maintenance_id:
            return window
    raise NotFound(f"no maintenance {maintenance_id!r}")


def _page(request: web.Request) -> tuple[int, tuple[datetime, str] | None]:
    """A list's ``limit`` and where its page starts: after the cursor's place in the
    store's order (``records.newest_first_due`` of its time, then its id); None: first."""
    problems: list[FieldProblem] = []
    unknown_params(request.query, LIST_PARAMS, problems)
    limit = int_param(request.query, "limit", 100, 1, MAX_LIMIT, problems)
    after = cursor_param(request.query, request.path, problems)
    place = None
    if after is not None:
        try:
            place = rec.newest_first_due(after.opened_at), after.incident_id
        except OverflowError:  # a time no item of the list can have (year 4100 or later)
            problems.append(FieldProblem("cursor", "not a cursor of this list; use a next link"))
    if problems:
        raise InvalidFields(problems)
    return limit, place


def _next(request: web.Request, last: ListPosition | None) -> str | None:
    """The link to the page after ``last`` (None: this page is the last)."""
    if last is None:
        return None
    return str(request.rel_url.update_query(cursor=encode_position(last, request.path)))


def incident_view(incident: PublicIncident, latest: int | None = None) -> dict[str, Any]:
    """A public incident as the API shows it (Statuspage's field names); a list shows
    only its ``latest`` updates (newest first) and how many it has."""
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status.value,
        "impact": incident.impact.value,
        "created_at": format_rfc3339(incident.created_at),
        "updated_at": format_rfc3339(incident.updated_at),
        "started_at": format_rfc3339(incident.started_at),
        "monitoring_at": _time(incident.monitoring_at),
        "resolved_at": _time(incident.resolved_at),
        "components": list(incident.component_ids),
        "incident_updates": [
            {
                "id": u.id,
                "status": u.status.value,
                "body": u.body,
                "created_at": format_rfc3339(u.created_at),
                "display_at": format_rfc3339(u.display_at),
                "affected_components": [
                    {
                        "code": a.id,
                        "old_status": a.old_status.value,
                        "new_status": a.new_status.value,
                    }
                    for a in u.affected_components
                ],
            }
            for u in incident.updates[:latest]
        ],
        "incident_updates_count": len(incident.updates),
    }


def maintenance_view(maintenance: PublicMaintenance, latest: int | None = None) -> dict[str, Any]:
    """A maintenance as the API shows it (Statuspage's field names); a list shows only its
    ``latest`` updates (newest first) and how many it has."""
    return {
        "id": maintenance.id,
        "name": maintenance.name,
        "status": maintenance.status.value,
        "scheduled_for": format_rfc3339(maintenance.scheduled_for),
        "scheduled_until": format_rfc3339(maintenance.scheduled_until),
        "components": list(maintenance.component_ids),
        "created_at": format_rfc3339(maintenance.created_at),
        "updated_at": format_rfc3339(maintenance.updated_at),
        "source": "rules" if maintenance.id.startswith("window-") else "api",
        "incident_updates": [
            {
                "id": u.id,
                "status": u.status.value,
                "body": u.body,
                "created_at": format_rfc3339(u.created_at),
                "display_at": format_rfc3339(u.display_at),
            }
            for u in maintenance.updates[:latest]
        ],
        "incident_updates_count": len(maintenance.updates),
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_rfc3339(value)


async def _read_body(request: web.Request) -> Any:
    """The JSON body (None when empty), at most MAX_BODY_BYTES and within the body
    deadline (see ``json_body``)."""
    return await read_json_body(request, MAX_BODY_BYTES, "a status body")
