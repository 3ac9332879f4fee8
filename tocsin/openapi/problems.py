"""The problems part of the OpenAPI document (tocsin.operator.problems).

Limits come from ``core.problems`` and ``tocsin.operator.problems``, which enforce them.
"""

from __future__ import annotations

from typing import Any

from core.problems import (
    ACTIONS,
    MAX_CREATE_INCIDENTS,
    MAX_INCIDENT_ID,
    MAX_TEXT,
    MAX_TITLE,
    ProblemState,
)
from tocsin.openapi.actions import REPLAYED, idempotency_header
from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    integer,
    link,
    nullable,
    optional_text,
    path_id,
    query,
    ref,
    request_body,
    responses,
    text,
)
from tocsin.operator import problems

_TAGS = ["problems"]
_STATES = [s.value for s in ProblemState]
_WRITE_ERRORS = [400, 403, 404, 408, 409, 413, 415]
_ETAG = {
    "ETag": {
        "description": 'The problem\'s version, "<version>", for If-Match.',
        "required": True,
        "schema": text(pattern='^"[0-9]+"$'),
    }
}
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": text(),
    "description": 'The problem\'s ETag ("<version>"); a stale one is a 412.',
}


def problem_schemas() -> dict[str, Schema]:
    """The problem component schemas."""
    incident_id = text(MAX_INCIDENT_ID, blank=False)
    return {
        "Problem": closed(
            {
                "id": text(),
                "title": text(),
                "description": nullable(text()),
                "state": {"enum": _STATES},
                "root_cause": nullable(text()),
                "workaround": nullable(text()),
                "known_error": {"type": "boolean"},
                "incidents": array(text(), description="The linked incidents' ids, in order."),
                "created_at": instant(),
                "created_by": text(),
                "updated_at": instant(),
                "updated_by": text(),
                "version": integer(1),
                "allowed_states": array({"enum": _STATES}),
            },
            description="A problem: the common cause of one or more incidents.",
        ),
        "ProblemList": closed({"problems": array(ref("Problem"))}),
        "NewProblem": closed(
            {
                "title": text(MAX_TITLE, blank=False),
                "incidents": array(incident_id, minItems=1, maxItems=MAX_CREATE_INCIDENTS),
                "description": optional_text(MAX_TEXT),
            },
            required=["title", "incidents"],
        ),
        "ProblemIncident": closed({"incident": incident_id}),
        "ProblemUpdate": closed(
            {
                "title": optional_text(MAX_TITLE),
                "root_cause": optional_text(MAX_TEXT),
                "workaround": optional_text(MAX_TEXT),
                "known_error": {"type": ["boolean", "null"]},
                "state": {"enum": [*_STATES, None]},
            },
            required=[],
            description="The fields given (not null) change, the others stay; at least one.",
        )
        | {"minProperties": 1},
        "ProblemCandidates": closed(
            {
                "candidates": array(ref("ProblemCandidate")),
                "recurrence": closed(
                    {"count": integer(1), "within": text(description="a duration, e.g. 30d")}
                ),
                "since": instant(),
                "scanned": integer(0),
                "truncated": {"type": "boolean"},
            },
            description="Incidents of the rules' period that recur, most incidents first.",
        ),
        "ProblemCandidate": {"oneOf": [_candidate("group_key"), _candidate("category", "service")]},
    }


def _candidate(*keys: str) -> Schema:
    kind = "group_key" if keys == ("group_key",) else "category_service"
    return closed(
        {
            "kind": {"const": kind},
            **{key: text() for key in keys},
            "incidents": array(text()),
            "count": integer(1),
            "first_opened_at": instant(),
            "last_opened_at": instant(),
        }
    )


# Each problem action's body.
_ACTION_BODIES = {"link": "ProblemIncident", "unlink": "ProblemIncident", "update": "ProblemUpdate"}
_ACTION_SUMMARIES = {
    "link": "Link an incident to the problem.",
    "unlink": "Unlink an incident from the problem.",
    "update": "Change the title, root cause, workaround, known error flag or state.",
}


def problem_operation_id(action: str) -> str:
    """The operationId of problem action ``action``, e.g. ``linkProblem``."""
    return f"{action}Problem"


def _problem_answer(description: str, status: str) -> dict[str, Any]:
    by_id = "$response.body#/id"
    links = {
        "get": link("getProblem", "Read it back.", id=by_id),
        **{
            action: link(problem_operation_id(action), _ACTION_SUMMARIES[action], id=by_id)
            for action in ACTIONS
        },
    }
    headers = dict(_ETAG)
    if status == "201":
        headers["Location"] = {"required": True, "schema": text(), "description": "Its URL."}
        headers.update(REPLAYED)
    return {status: answer(description, ref("Problem"), headers=headers, links=links)}


# The byte cap of a body: its fields' limits, each character escaped in the worst way.
_BODY_CAP = f"At most {problems.MAX_BODY_BYTES} bytes; a larger body is a 413."


def problem_paths() -> dict[str, Any]:
    """The problem operations."""
    paths: dict[str, Any] = {
        "/api/v1/problems": {
            "post": {
                "operationId": "createProblem",
                "tags": _TAGS,
                "summary": "Create a problem from one or more incidents (linked to it).",
                "x-required-role": "responder",
                "parameters": [idempotency_header()],
                "requestBody": request_body(ref("NewProblem"), description=_BODY_CAP),
                "responses": responses(
                    _problem_answer("The problem.", "201"), [*_WRITE_ERRORS, 422]
                ),
            },
            "get": {
                "operationId": "listProblems",
                "tags": _TAGS,
                "summary": "List problems, newest first; unknown parameters are a 400.",
                "x-required-role": "viewer",
                "parameters": [
                    query("state", {"enum": _STATES}, "Only problems in this state."),
                    query("limit", integer(1, problems.MAX_LIMIT), "At most this many (100)."),
                ],
                "responses": responses(
                    {"200": answer("Problems.", ref("ProblemList"))}, [400, 403]
                ),
            },
        },
        "/api/v1/problems/{id}": {
            "get": {
                "operationId": "getProblem",
                "tags": _TAGS,
                "summary": "One problem.",
                "x-required-role": "viewer",
                "parameters": [path_id("The problem's id.")],
                "responses": responses(
                    {"200": answer("The problem.", ref("Problem"), headers=_ETAG)}, [403, 404]
                ),
            }
        },
        "/api/v1/problem-candidates": {
            "get": {
                "operationId": "listProblemCandidates",
                "tags": _TAGS,
                "summary": "Incidents that recur (rules: problems.recurrence); no parameters.",
                "x-required-role": "viewer",
                "responses": responses(
                    {"200": answer("The candidates.", ref("ProblemCandidates"))}, [400, 403]
                ),
            }
        },
    }
    for action in ACTIONS:
        paths[f"/api/v1/problems/{{id}}/{action}"] = {
            "post": {
                "operationId": problem_operation_id(action),
                "tags": _TAGS,
                "summary": _ACTION_SUMMARIES[action],
                "x-required-role": "responder",
                "parameters": [path_id("The problem's id."), _IF_MATCH],
                "requestBody": request_body(ref(_ACTION_BODIES[action]), description=_BODY_CAP),
                "responses": responses(
                    _problem_answer("The problem, changed.", "200"), [*_WRITE_ERRORS, 412]
                ),
            }
        }
    return paths
