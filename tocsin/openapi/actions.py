"""The incident actions part of the OpenAPI document: one POST per action, and tasks.

Each action's body is built from the field specs the code reads it with
(``core.lifecycle_requests`` for the lifecycle's and merge, ``core.incident_requests``
for assign, note, priority and tasks): names, which are required, and size limits, so
the document and the 400s cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core import incident_requests
from core.incident_requests import ACTIONS, COMPLETE_FIELDS, TASK_FIELDS
from core.lifecycle import DEFAULT_RESOLUTION_CODES
from core.lifecycle_requests import PERSON_ACTIONS, TextField, request_fields
from tocsin.openapi.incidents import (
    ADD_TASK,
    action_links,
    action_operation_id,
    etag_header,
    page_parameters,
)
from tocsin.openapi.schemas import (
    Schema,
    answer,
    closed,
    link,
    optional_text,
    path_id,
    ref,
    request_body,
    responses,
    text,
)
from tocsin.operator.idempotency import MAX_KEY
from tocsin.operator.incident_actions import MAX_BODY_BYTES

_TAGS = ["incidents"]
COMPLETE_TASK = "completeIncidentTask"
# Sent with the recorded answer of a retried POST that has an Idempotency-Key.
REPLAYED: dict[str, Any] = {
    "Idempotent-Replayed": {
        "description": "true when this is the recorded answer of an earlier request.",
        "schema": {"const": "true"},
    }
}

# What each action does, for the document's readers.
_SUMMARIES = {
    "acknowledge": "Acknowledge: someone owns it now.",
    "hold": "Put on hold (SLA clocks pause), saying why.",
    "resume": "Resume from hold, back to the state it was in.",
    "resolve": "Resolve with a resolution code from the rules and notes.",
    "close": "Close a resolved incident (confirm its resolution).",
    "reopen": "Reopen a resolved incident, saying why.",
    "merge": "Merge this incident into incident `into`; answers the target.",
    "escalate": "Escalate: page the escalation policy's next level now (an acknowledged "
    "incident is triggered again); the timeline says who was paged.",
    "assign": "Assign to a team, a person or both (names from the rules).",
    "note": "Add a note to the timeline.",
    "priority": "Set the priority (one of the matrix's), saying why.",
}
# The errors an action answers (409: the state does not allow it, or a busy incident).
_ERRORS = [400, 403, 404, 408, 409, 412, 413, 415, 422]


def _fields(action: str) -> tuple[TextField, ...]:
    """The body fields of ``action``, from the code that reads them."""
    lifecycle = {a.value: a for a in PERSON_ACTIONS}
    if action in lifecycle:
        return tuple(
            TextField(name, limit, required)
            for name, (limit, required) in request_fields(lifecycle[action]).items()
        )
    # The other actions' specs, as incident_requests.parse_action reads them.
    return incident_requests._BODIES[action][1]


def body_schema(fields: Iterable[TextField], description: str = "") -> Schema:
    """A closed JSON object of these text fields: not blank, at most their limits."""
    fields = tuple(fields)
    schema = closed(
        # An optional field may also be null (read_text_fields takes null as absent).
        {
            f.name: text(f.limit, blank=False) if f.required else optional_text(f.limit)
            for f in fields
        },
        required=[f.name for f in fields if f.required],
        description=description or None,
    )
    return schema


# A body of each action, shown to readers and sent first by the schema tests.
_EXAMPLES: dict[str, dict[str, str]] = {
    "acknowledge": {"note": "looking at it"},
    "hold": {"reason": "waiting on the storage vendor"},
    "resume": {"note": "the vendor answered"},
    "resolve": {"resolution_code": DEFAULT_RESOLUTION_CODES[0], "notes": "disk replaced"},
    "close": {"note": "confirmed with the service owner"},
    "reopen": {"reason": "the disk filled again"},
    "escalate": {"note": "needs the database team"},
    "assign": {"team": "database", "note": "their disk"},
    "note": {"text": "the backup job fills the disk at 02:00"},
    "priority": {"priority": "P2", "reason": "customers see errors"},
}


def _action_body(action: str) -> Schema:
    schema = body_schema(_fields(action), _SUMMARIES.get(action, ""))
    if action in _EXAMPLES:
        schema["examples"] = [_EXAMPLES[action]]
    if action == "assign":
        # parse_action: an assign names a team, a person or both.
        schema["anyOf"] = [{"required": ["team"]}, {"required": ["person"]}]
    return schema


def _headers() -> list[dict[str, Any]]:
    """If-Match and Idempotency-Key, which every incident write takes."""
    return [
        {
            "name": "If-Match",
            "in": "header",
            "required": False,
            "schema": text(),
            "description": 'The incident\'s ETag ("<version>"); a stale one is a 412.',
        },
        idempotency_header(),
    ]


def idempotency_header() -> dict[str, Any]:
    """The Idempotency-Key header parameter of a POST that must act once."""
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": text(MAX_KEY, minLength=1, pattern="^[ -~]+$"),
        "description": "A retried POST with the same key and body answers the first "
        "answer without acting again; the same key with another body is a 422.",
    }


def _incident_answer(description: str) -> dict[str, Any]:
    return answer(
        description,
        ref("IncidentDetail"),
        headers={**etag_header(), **REPLAYED},
        links={
            "get": link("getIncident", "Read it again.", id="$response.body#/id"),
            **action_links("$response.body#/id"),
            # The first task, which a task added by hand is when the rules add none.
            "complete_task": link(
                COMPLETE_TASK,
                "Complete the incident's first task.",
                id="$response.body#/id",
                task_id="$response.body#/tasks/0/id",
            ),
        },
    )


def _operation(
    operation: str, summary: str, body: Schema, ok: str, description: str
) -> dict[str, Any]:
    return {
        "operationId": operation,
        "tags": _TAGS,
        "summary": summary,
        "x-required-role": "responder",
        "parameters": [*_headers(), *page_parameters()],
        # An action whose fields are all optional takes no body at all, as {}.
        "requestBody": request_body(
            body,
            required=bool(body["required"]),
            description=f"At most {MAX_BODY_BYTES} bytes; a larger body is a 413.",
        ),
        "responses": responses({ok: _incident_answer(description)}, _ERRORS),
    }


def action_paths() -> dict[str, Any]:
    """Every incident action and the task operations."""
    paths: dict[str, Any] = {
        f"/api/v1/incidents/{{id}}/{action}": {
            "parameters": [path_id("The incident's id.")],
            "post": _operation(
                action_operation_id(action),
                _SUMMARIES.get(action, action),
                _action_body(action),
                "200",
                "The merge target, after the merge."
                if action == "merge"
                else "The incident, after the action.",
            ),
        }
        for action in ACTIONS
    }
    paths["/api/v1/incidents/{id}/tasks"] = {
        "parameters": [path_id("The incident's id.")],
        "post": _operation(
            ADD_TASK,
            "Add a task by hand.",
            {**body_schema(TASK_FIELDS), "examples": [{"title": "add a disk usage alert"}]},
            "201",
            "The incident with the new task.",
        ),
    }
    paths["/api/v1/incidents/{id}/tasks/{task_id}/complete"] = {
        "parameters": [path_id("The incident's id."), path_id("The task's id.", "task_id")],
        "post": _operation(
            COMPLETE_TASK,
            "Mark a task done.",
            body_schema(COMPLETE_FIELDS),
            "200",
            "The incident with the task completed.",
        ),
    }
    return paths
