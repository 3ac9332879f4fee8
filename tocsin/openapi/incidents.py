"""The incidents part of the OpenAPI document: list, detail, and the incident JSON.

Limits and names come from the code that enforces them (``tocsin.operator.incidents``,
``tocsin.operator.incident_pages``, ``core.incident``), so the document cannot drift.
"""

from __future__ import annotations

from typing import Any

from core.incident import IncidentState
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
from tocsin.operator import incident_pages, incidents

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
    }


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
            "kind": text(description="what happened: opened, alerts_joined, acknowledged, ..."),
            "detail": {"type": "object", "description": "the kind's own members"},
        },
        description="One timeline entry: who did what, when.",
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
        "IncidentList": closed(
            {"incidents": array(ref("Incident"))}, description="Incidents, newest first."
        ),
    }


def _list_parameters() -> list[dict[str, Any]]:
    return [
        query(
            "state",
            text(),
            "Comma-separated states; `open` is every open one. One of: " + ", ".join(STATE_FILTERS),
        ),
        query("service", text(), "Only this service's incidents."),
        query("since", instant(), "Opened at or after this instant."),
        query("until", instant(), "Opened before this instant."),
        query("limit", integer(1, incidents.MAX_LIMIT), "At most this many (default 100)."),
    ]


def _detail_parameters() -> list[dict[str, Any]]:
    return [
        path_id("The incident's id."),
        query("alerts_limit", integer(1, incident_pages.MAX_ALERTS), "Alerts per page."),
        query(
            "alerts_cursor",
            text(incident_pages._MAX_CURSOR_CHARS),
            "The last fingerprint of the previous alerts page (from alerts_page.next).",
        ),
        query("timeline_limit", integer(1, incident_pages.MAX_EVENTS), "Timeline events per page."),
        query("timeline_cursor", integer(0, _MAX_CURSOR), "Position of the first event shown."),
    ]


def incident_paths() -> dict[str, Any]:
    """The incident operations."""
    detail_link = link(
        "getIncident", "The first incident of the list.", id="$response.body#/incidents/0/id"
    )
    return {
        "/api/v1/incidents": {
            "get": {
                "operationId": "listIncidents",
                "tags": ["incidents"],
                "summary": "List incidents, newest first, filtered.",
                "x-required-role": "viewer",
                "parameters": _list_parameters(),
                "responses": responses(
                    {
                        "200": answer(
                            "Incidents.", ref("IncidentList"), links={"detail": detail_link}
                        )
                    },
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
                "parameters": _detail_parameters(),
                "responses": responses(
                    {"200": answer("The incident.", ref("IncidentDetail"))}, [400, 403, 404]
                ),
            }
        },
    }
