"""The status page part of the OpenAPI document (tocsin.operator.status).

Public incidents and scheduled maintenance, in Statuspage's field names. Limits and
values come from ``statuspage.commands`` and ``statuspage.model``, which enforce them.
Every write takes an ``Idempotency-Key`` (``tocsin.operator.status``).
"""

from __future__ import annotations

from typing import Any

from statuspage.commands import MAX_BODY, MAX_COMPONENTS, MAX_NAME
from statuspage.model import ComponentStatus, Impact, MaintenanceStatus, PublicIncidentStatus
from tocsin.openapi.actions import REPLAYED, idempotency_header
from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    errors,
    instant,
    integer,
    nullable,
    path_id,
    query,
    ref,
    request_body,
    responses,
    text,
)
from tocsin.operator import status

_TAGS = ["status page"]
_INCIDENT_STATUSES = [s.value for s in PublicIncidentStatus]
_MAINTENANCE_STATUSES = [s.value for s in MaintenanceStatus]
# An operator sets any component status but maintenance, which maintenances set.
_SETTABLE = [s.value for s in ComponentStatus if s is not ComponentStatus.UNDER_MAINTENANCE]
_WRITE_ERRORS = [400, 403, 404, 408, 413, 415]
# A write on a maintenance: a window of the rules is read-only (409), and so is what
# has happened of a maintenance (statuspage.commands.edit_maintenance_command).
_EDIT_ERRORS = [*_WRITE_ERRORS, 409]
_UPDATES = (
    f"Newest first: all of them, but in a list, which shows the {status.LIST_UPDATES} "
    "newest (incident_updates_count says how many there are)."
)


def _components() -> Schema:
    """``components``: a list of the page's component ids, or ``{id: status}``."""
    return {
        "description": "The page's components: a list (each gets the status the impact "
        "implies) or an object of each one's status.",
        "oneOf": [
            array(text(), maxItems=MAX_COMPONENTS),
            {
                "type": "object",
                "additionalProperties": {"enum": _SETTABLE},
                "maxProperties": MAX_COMPONENTS,
            },
        ],
    }


def _maintenance_fields() -> dict[str, Any]:
    """The fields a maintenance is made of, as a new one and an edit take them."""
    return {
        "name": text(MAX_NAME, blank=False),
        "scheduled_for": instant(),
        "scheduled_until": instant(),
        "components": _components(),
        "body": text(MAX_BODY, blank=False),
        "status": {"enum": _MAINTENANCE_STATUSES},
    }


def _update(extra: dict[str, Schema], statuses: list[str]) -> Schema:
    return closed(
        {
            "id": text(),
            "status": {"enum": statuses},
            "body": text(),
            "created_at": instant(),
            "display_at": instant(),
            **extra,
        }
    )


def status_schemas() -> dict[str, Schema]:
    """The status page component schemas."""
    affected = closed(
        {
            "code": text(),
            "old_status": {"enum": [s.value for s in ComponentStatus]},
            "new_status": {"enum": [s.value for s in ComponentStatus]},
        }
    )
    return {
        "PublicIncident": closed(
            {
                "id": text(),
                "name": text(),
                "status": {"enum": _INCIDENT_STATUSES},
                "impact": {"enum": [i.value for i in Impact]},
                "created_at": instant(),
                "updated_at": instant(),
                "started_at": instant(),
                "monitoring_at": nullable(instant()),
                "resolved_at": nullable(instant()),
                "components": array(text()),
                "incident_updates": array(
                    _update({"affected_components": array(affected)}, _INCIDENT_STATUSES),
                    description=_UPDATES,
                ),
                "incident_updates_count": integer(0) | {"description": "How many updates it has."},
            },
            description="An incident as the public status page shows it.",
        ),
        "PublicIncidentList": closed(
            {"incidents": array(ref("PublicIncident")), "next": _next_link()}
        ),
        "Maintenance": closed(
            {
                "id": text(),
                "name": text(),
                "status": {"enum": _MAINTENANCE_STATUSES},
                "scheduled_for": instant(),
                "scheduled_until": instant(),
                "components": array(text()),
                "created_at": instant(),
                "updated_at": instant(),
                "source": {"enum": ["api", "rules"]},
                "incident_updates": array(_update({}, _MAINTENANCE_STATUSES), description=_UPDATES),
                "incident_updates_count": integer(0) | {"description": "How many updates it has."},
            },
            description="A scheduled maintenance: the API's, or a window of the rules.",
        ),
        "MaintenanceList": closed(
            {"maintenances": array(ref("Maintenance")), "next": _next_link()}
        ),
        "NewPublicIncident": closed(
            {
                "name": text(MAX_NAME, blank=False),
                "body": text(MAX_BODY, blank=False),
                "status": {"enum": _INCIDENT_STATUSES},
                "impact": {"enum": [i.value for i in Impact]},
                "components": _components(),
            },
            required=["name", "body"],
        )
        | {"examples": [{"name": "Slow checkout", "body": "We are looking into it."}]},
        "PublicIncidentUpdate": closed(
            {
                "status": {"enum": _INCIDENT_STATUSES},
                "body": text(MAX_BODY, blank=False),
                "components": _components(),
            },
            required=["status", "body"],
        ),
        "PublicIncidentEdit": closed(
            {
                "name": text(MAX_NAME, blank=False),
                "impact": {"enum": [i.value for i in Impact]},
            },
            required=[],
            description="What to correct: the name, the impact, or both (one at least).",
        )
        | {"minProperties": 1},
        "PublicIncidentUpdateEdit": closed(
            {"body": text(MAX_BODY, blank=False)},
            required=["body"],
            description="The update's new text: a correction, or a redaction.",
        ),
        "NewMaintenance": closed(
            _maintenance_fields(),
            required=["name", "scheduled_for", "scheduled_until", "components"],
        ),
        "MaintenanceUpdate": closed(
            {"status": {"enum": _MAINTENANCE_STATUSES}, "body": text(MAX_BODY, blank=False)}
        ),
        "MaintenanceEdit": closed(
            _maintenance_fields(),
            required=[],
            description="What to change (one field at least). A completed maintenance's "
            "window and components are history (409 naming the field); a started one's "
            "start can no longer move (409); a start not begun must not be in the past and "
            "a new end must be later than now (400). ``body`` adds an update, with "
            "``status`` (which needs a body) or the current status; a completed one takes "
            "no status but completed (409 naming status).",
        )
        | {"minProperties": 1},
        "CommandAccepted": closed(
            {"id": text(), "state": {"const": "accepted"}},
            description="Filed, for the replica that writes the page to apply shortly.",
        ),
    }


def _written(what: str, schema: str) -> dict[str, Any]:
    """A write's answers: 201 with the thing, or 202 while another replica applies it."""
    location = {"Location": {"required": True, "schema": text(), "description": "Its URL."}}
    return {
        "201": answer(what, ref(schema), headers={**location, **REPLAYED}),
        "202": answer("Filed; not applied within 5 s.", ref("CommandAccepted")),
    }


def _changed(what: str, schema: str) -> dict[str, Any]:
    """An edit's answers: 200 with the thing, or 202 while another replica applies it."""
    return {
        "200": answer(what, ref(schema), headers=REPLAYED),
        "202": answer("Filed; not applied within 5 s.", ref("CommandAccepted")),
    }


def _next_link() -> Schema:
    return nullable(text(description="The relative URL of the next page; null on the last."))


def _cursor() -> dict[str, Any]:
    return query(
        "cursor",
        text(400, minLength=1),
        "Where the page starts: from a `next` link (a place in the order: pages walked "
        "while items are added neither repeat nor skip one). Not one: a 400 naming cursor.",
    )


def _limit() -> dict[str, Any]:
    return query(
        "limit",
        integer(1, status.MAX_LIMIT),
        f"At most this many (100; at most {status.MAX_LIMIT}), each with its "
        f"{status.LIST_UPDATES} newest updates: an answer holds at most "
        f"{status.MAX_LIMIT * status.LIST_UPDATES} update texts.",
    )


def _operation(operation: str, summary: str, role: str, **more: Any) -> dict[str, Any]:
    return {
        "operationId": operation,
        "tags": _TAGS,
        "summary": summary,
        "x-required-role": role,
        **more,
    }


def _keyed(paths: dict[str, Any]) -> dict[str, Any]:
    """Gives every write an Idempotency-Key: its header, its 400 when malformed, and its
    422 for another request."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method != "get":
                operation["parameters"] = [*operation.get("parameters", []), idempotency_header()]
                operation["responses"] = {**operation["responses"], **errors(400, 422)}
    return paths


def status_paths() -> dict[str, Any]:
    """The status page operations."""
    return _keyed(_paths())


def _paths() -> dict[str, Any]:
    incident_id = path_id("The public incident's id.")
    update_id = path_id("The update's id.", "update_id")
    maintenance_id = path_id("The maintenance's id (window-... for the rules' own).")
    return {
        "/api/v1/status/incidents": {
            "get": _operation(
                "listPublicIncidents",
                "Public incidents, newest first; unknown parameters are a 400.",
                "viewer",
                parameters=[_limit(), _cursor()],
                responses=responses(
                    {"200": answer("Public incidents.", ref("PublicIncidentList"))}, [400, 403]
                ),
            ),
            "post": _operation(
                "createPublicIncident",
                "Post an incident on the status page.",
                "responder",
                requestBody=request_body(ref("NewPublicIncident")),
                responses=responses(
                    _written("The public incident.", "PublicIncident"), _WRITE_ERRORS
                ),
            ),
        },
        "/api/v1/status/incidents/{id}": {
            "get": _operation(
                "getPublicIncident",
                "One public incident.",
                "viewer",
                parameters=[incident_id],
                responses=responses(
                    {"200": answer("The public incident.", ref("PublicIncident"))}, [403, 404]
                ),
            ),
            "patch": _operation(
                "editPublicIncident",
                "Correct a public incident's name or impact (no new update).",
                "responder",
                parameters=[incident_id],
                requestBody=request_body(ref("PublicIncidentEdit")),
                responses=responses(
                    _changed("The public incident.", "PublicIncident"), _WRITE_ERRORS
                ),
            ),
            "delete": _operation(
                "deletePublicIncident",
                "Remove a public incident from the page; its components follow the other "
                "incidents from now on (their availability history keeps what was).",
                "responder",
                parameters=[incident_id],
                responses=responses(
                    {
                        "204": {"description": "Removed.", "headers": REPLAYED},
                        "202": answer("Filed; not applied within 5 s.", ref("CommandAccepted")),
                    },
                    [403, 404],
                ),
            ),
        },
        "/api/v1/status/incidents/{id}/updates/{update_id}": {
            "patch": _operation(
                "editPublicIncidentUpdate",
                "Replace an update's text: correct it, or redact what must not show.",
                "responder",
                parameters=[incident_id, update_id],
                requestBody=request_body(ref("PublicIncidentUpdateEdit")),
                responses=responses(
                    _changed("The public incident.", "PublicIncident"), _WRITE_ERRORS
                ),
            ),
            "delete": _operation(
                "deletePublicIncidentUpdate",
                "Remove an update from an incident's timeline (the incident keeps its "
                "status). Its only update is a 400 naming update_id: delete the incident.",
                "responder",
                parameters=[incident_id, update_id],
                responses=responses(
                    _changed("The public incident.", "PublicIncident"), [400, 403, 404]
                ),
            ),
        },
        "/api/v1/status/incidents/{id}/updates": {
            "post": _operation(
                "updatePublicIncident",
                "Add an update (status, text, components) to a public incident. An incident "
                "takes at most 100 updates: 400 naming incident_updates beyond, but for "
                "one that resolves it (or its postmortem), which drops the second oldest.",
                "responder",
                parameters=[incident_id],
                requestBody=request_body(ref("PublicIncidentUpdate")),
                responses=responses(
                    _written("The public incident.", "PublicIncident"), _WRITE_ERRORS
                ),
            )
        },
        "/api/v1/status/maintenances": {
            "get": _operation(
                "listMaintenances",
                "Maintenances (the API's and the rules' windows), latest start first.",
                "viewer",
                parameters=[_limit(), _cursor()],
                responses=responses(
                    {"200": answer("Maintenances.", ref("MaintenanceList"))}, [400, 403]
                ),
            ),
            "post": _operation(
                "createMaintenance",
                "Schedule a maintenance.",
                "responder",
                requestBody=request_body(ref("NewMaintenance")),
                responses=responses(_written("The maintenance.", "Maintenance"), _WRITE_ERRORS),
            ),
        },
        "/api/v1/status/maintenances/{id}": {
            "get": _operation(
                "getMaintenance",
                "One maintenance.",
                "viewer",
                parameters=[maintenance_id],
                responses=responses(
                    {"200": answer("The maintenance.", ref("Maintenance"))}, [403, 404]
                ),
            ),
            "patch": _operation(
                "editMaintenance",
                "Correct a maintenance of the API: its name, window or components; a body "
                "adds an update. The rules' windows are read-only: 409.",
                "responder",
                parameters=[maintenance_id],
                requestBody=request_body(ref("MaintenanceEdit")),
                responses=responses(_changed("The maintenance.", "Maintenance"), _EDIT_ERRORS),
            ),
            "delete": _operation(
                "deleteMaintenance",
                "Remove a maintenance of the API from the page, its JSON and feeds; its "
                "components leave maintenance now (their availability history keeps what "
                "was). The rules' windows are read-only: 409.",
                "responder",
                parameters=[maintenance_id],
                responses=responses(
                    {
                        "204": {"description": "Removed.", "headers": REPLAYED},
                        "202": answer("Filed; not applied within 5 s.", ref("CommandAccepted")),
                    },
                    [403, 404, 409],
                ),
            ),
        },
        "/api/v1/status/maintenances/{id}/updates/{update_id}": {
            "patch": _operation(
                "editMaintenanceUpdate",
                "Replace a maintenance update's text: correct it, or redact what must not show.",
                "responder",
                parameters=[maintenance_id, update_id],
                requestBody=request_body(ref("PublicIncidentUpdateEdit")),
                responses=responses(_changed("The maintenance.", "Maintenance"), _EDIT_ERRORS),
            ),
            "delete": _operation(
                "deleteMaintenanceUpdate",
                "Remove an update from a maintenance's timeline (it keeps its status). Its "
                "only update is a 400 naming update_id: delete the maintenance.",
                "responder",
                parameters=[maintenance_id, update_id],
                responses=responses(
                    _changed("The maintenance.", "Maintenance"), [400, 403, 404, 409]
                ),
            ),
        },
        "/api/v1/status/maintenances/{id}/updates": {
            "post": _operation(
                "updateMaintenance",
                "Add an update (and its status) to a maintenance of the API. A maintenance "
                "takes at most 100 updates: 400 naming incident_updates beyond, but for "
                "one that completes it, which drops the second oldest. A completed one "
                "takes only completed updates (another status: 409 naming status).",
                "responder",
                parameters=[maintenance_id],
                requestBody=request_body(ref("MaintenanceUpdate")),
                responses=responses(_written("The maintenance.", "Maintenance"), _EDIT_ERRORS),
            )
        },
    }
