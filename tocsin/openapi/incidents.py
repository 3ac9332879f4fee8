"""The incidents part of the OpenAPI document: list, detail, and the incident JSON.

Limits and names come from the code that enforces them (``tocsin.operator.incidents``,
``tocsin.operator.incident_pages``, ``core.incident``), so the document cannot drift.
"""

from __future__ import annotations

from typing import Any

from core.incident import IncidentState
from core.incident_actions import PERSON, RULES
from core.incident_requests import ACTIONS
from core.model import AlertStatus
from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    integer,
    link,
    nullable,
    path_id,
    query,
    ref,
    responses,
    string_map,
    text,
)
from tocsin.operator import cursors, incident_pages, incidents

_MAX_CURSOR = 999_999_999

# A state's name, or ``open`` (every state of an open incident), as ?state= takes them.
STATE_FILTERS = [*(s.value for s in IncidentState), "open"]


def _incident_members() -> dict[str, Schema]:
    """The members of every incident's JSON (tocsin.operator.render.incident_summary)."""
    name = nullable(text())
    return {
        "id": text(),
        "title": text(),
        "state": {"enum": [s.value for s in IncidentState]},
        "priority": name,
        "category": name,
        "service": name,
        "impact": nullable(text(description="the rules' name of the impact level")),
        "urgency": nullable(text(description="the rules' name of the urgency level")),
        "team": name,
        "route": name,
        "policy": name,
        "assignee": name,
        "group_key": text(),
        "opened_at": instant(),
        "acknowledged_at": nullable(instant()),
        "resolved_at": nullable(instant()),
        "closed_at": nullable(instant()),
        "counts": closed(
            {"alerts": integer(0), "firing": integer(0), "resolved": integer(0)},
            description="Of all the incident's alerts, whatever page a detail shows.",
        ),
        "flags": closed(
            {
                "flapping": {"type": "boolean"},
                "stale_resolved": {"type": "boolean"},
                "held": {"type": "boolean"},
                "muted": {"type": "boolean"},
            }
        ),
        "public": {"type": "boolean"},
        "components": array(text()),
        **_lifecycle_members(),
    }


def _lifecycle_members() -> dict[str, Schema]:
    """What people and the lifecycle decided (tocsin.operator.render.lifecycle_view)."""
    name = nullable(text())
    return {
        "version": integer(0),
        "etag": text(description='The version quoted, "<version>", as If-Match takes it.'),
        "allowed_actions": array(
            {"enum": [*ACTIONS, "tasks"]},
            description="The actions a person may take now, as the paths name them.",
        ),
        "acknowledged_by": name,
        "resolved_by": name,
        "resolution_code": name,
        "resolution_notes": name,
        "auto_resolved": {"type": "boolean"},
        "closed_by": name,
        "hold_reason": name,
        "on_hold_since": nullable(instant()),
        "on_hold_total_seconds": {"type": "number", "minimum": 0},
        "reopen_count": integer(0),
        "tasks": array(ref("Task")),
        "problem_id": name,
        "merged_into": name,
    }


def _task() -> Schema:
    """One task of an incident (tocsin.operator.render._task)."""
    return closed(
        {
            "id": text(),
            "title": text(),
            "source": {"enum": [RULES, PERSON]},
            "created_by": text(),
            "created_at": instant(),
            "completed_by": nullable(text()),
            "completed_at": nullable(instant()),
        },
        description="A piece of work: from the category's rules, or added by a person.",
    )


def _alert() -> Schema:
    """One alert of an incident (tocsin.operator.render._alert)."""
    return closed(
        {
            "fingerprint": text(),
            "labels": string_map(),
            "annotations": string_map(),
            "status": {"enum": [s.value for s in AlertStatus]},
            "count": integer(0),
            "starts_at": nullable(instant()),
            "ends_at": nullable(instant()),
            "generator_url": text(),
            "first_received_at": nullable(instant()),
            "last_received_at": nullable(instant()),
            "muted_by": nullable(text()),
            "expired": {"type": "boolean"},
            "dedup_key": nullable(text()),
        },
        description="One alert of an incident: what its source said, when Tocsin received it.",
    )


def _timeline_event() -> Schema:
    return closed(
        {
            "at": instant(),
            "actor": text(),
            "kind": text(
                description="what happened: opened, alerts_joined, acknowledged, ...; "
                "paging's own entries: paged, not_paged, delivery_failed, ... (README: "
                "Paging: what the timeline shows)"
            ),
            "detail": {"type": "object", "description": "the kind's own members"},
        },
        description="One timeline entry: who did what, when (paging's entries move no "
        "version: they are notes, not changes).",
    )


def incident_schemas() -> dict[str, Schema]:
    """The incident component schemas."""
    members = _incident_members()
    return {
        "Incident": closed(members, description="An incident, as lists show it."),
        "IncidentDetail": closed(
            {
                **members,
                "alerts": array(ref("IncidentAlert")),
                "timeline": array(ref("TimelineEvent")),
                "alerts_page": closed(
                    {
                        "limit": integer(1, incident_pages.MAX_ALERTS),
                        "cursor": nullable(text()),
                        "next": nullable(text(description="relative URL of the next page")),
                    }
                ),
                "timeline_page": closed(
                    {
                        "limit": integer(1, incident_pages.MAX_EVENTS),
                        "cursor": integer(0),
                        "total": integer(0),
                        "next": nullable(text(description="relative URL of the next page")),
                    }
                ),
            },
            description="An incident with one page of its alerts and one of its timeline.",
        ),
        "IncidentAlert": _alert(),
        "TimelineEvent": _timeline_event(),
        "Task": _task(),
        "IncidentList": closed(
            {
                "incidents": array(ref("Incident")),
                "next": nullable(
                    text(description="The relative URL of the next page; null on the last.")
                ),
            },
            description="A page of incidents, newest first; unknown or repeated parameters "
            "are a 400.",
        ),
    }


def _list_parameters() -> list[dict[str, Any]]:
    """The list's parameters, in the order the code names them (LIST_PARAMS): a parameter
    the code adds without a line here fails the document's build."""
    name = text(incidents.MAX_NAME, minLength=1)
    specs = {
        "state": query(
            "state",
            text(minLength=1),
            "Comma-separated states, any of them; `open` is every open one. Of: "
            + ", ".join(STATE_FILTERS),
        ),
        "priority": query(
            "priority",
            text(minLength=1),
            "Comma-separated priorities of the rules' matrix (P1, P2, ...), any of them.",
        ),
        "service": query("service", name, "Only this service's incidents."),
        "team": query("team", name, "Only those assigned to this team."),
        "category": query("category", name, "Only this category's."),
        "assignee": query("assignee", name, "Only those assigned to this person."),
        "since": query("since", instant(), "Opened at or after this instant."),
        "until": query("until", instant(), "Opened before this instant."),
        "q": query(
            "q",
            text(incidents.MAX_TITLE_TEXT, minLength=1),
            "Text the title holds, in any case.",
        ),
        "limit": query("limit", integer(1, incidents.MAX_LIMIT), "At most this many (100)."),
        "cursor": query(
            "cursor",
            text(cursors.MAX_CURSOR_CHARS, minLength=1),
            "Where the page starts: from a `next` link of the same filters only (another is "
            "a 400).",
        ),
    }
    return [specs[param] for param in incidents.LIST_PARAMS]


def page_parameters() -> list[dict[str, Any]]:
    """Which page of its alerts and timeline an answer with an incident's detail shows."""
    return [
        query("alerts_limit", integer(1, incident_pages.MAX_ALERTS), "Alerts per page."),
        query(
            "alerts_cursor",
            text(cursors.MAX_CURSOR_CHARS, minLength=1),
            "Where the alerts page starts: from alerts_page.next only (another is a 400).",
        ),
        query("timeline_limit", integer(1, incident_pages.MAX_EVENTS), "Timeline events per page."),
        query(
            "timeline_cursor",
            integer(0, _MAX_CURSOR),
            "Position of the first event shown; past the timeline's end is a 400.",
        ),
    ]


def etag_header() -> dict[str, Any]:
    """The ETag header of an answer that carries an incident."""
    return {
        "ETag": {
            "description": 'The incident\'s version, "<version>", for If-Match.',
            "required": True,
            "schema": text(pattern='^"[0-9]+"$'),
        }
    }


def action_operation_id(action: str) -> str:
    """The operationId of incident action ``action``, e.g. ``acknowledgeIncident``."""
    return f"{action}Incident"


ADD_TASK = "addIncidentTask"


def action_links(id_expression: str) -> dict[str, Any]:
    """Links from an answer holding an incident id to each action on that incident."""
    links = {
        action: link(action_operation_id(action), f"{action} the incident.", id=id_expression)
        for action in ACTIONS
    }
    links["add_task"] = link(ADD_TASK, "Add a task to the incident.", id=id_expression)
    links["report"] = link("getIncidentReport", "Its closure report.", id=id_expression)
    return links


def incident_paths() -> dict[str, Any]:
    """The incident operations."""
    first = "$response.body#/incidents/0/id"
    list_links = {
        "detail": link("getIncident", "The first incident of the list.", id=first),
        **action_links(first),
    }
    return {
        "/api/v1/incidents": {
            "get": {
                "operationId": "listIncidents",
                "tags": ["incidents"],
                "summary": "List incidents, newest first, filtered.",
                "x-required-role": "viewer",
                "parameters": _list_parameters(),
                "responses": responses(
                    {"200": answer("Incidents.", ref("IncidentList"), links=list_links)},
                    [400, 403],
                ),
            }
        },
        "/api/v1/incidents/{id}": {
            "get": {
                "operationId": "getIncident",
                "tags": ["incidents"],
                "summary": "One incident with a page of its alerts and of its timeline.",
                "x-required-role": "viewer",
                "parameters": [path_id("The incident's id."), *page_parameters()],
                "responses": responses(
                    {"200": answer("The incident.", ref("IncidentDetail"), headers=etag_header())},
                    [400, 403, 404],
                ),
            }
        },
    }
