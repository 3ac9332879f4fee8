"""Problems: ``/api/v1/problems`` and ``GET /api/v1/problem-candidates``.

- ``POST /api/v1/problems`` ``{title, incidents: [ids], description?}`` -> 201 problem;
- ``GET /api/v1/problems?state=&limit=``, newest first; ``GET /api/v1/problems/{id}``;
- ``POST /api/v1/problems/{id}/{action}``: ``link {incident}``, ``unlink {incident}``,
  ``update {title?, root_cause?, workaround?, known_error?, state?}`` -> 200 problem;
- ``GET /api/v1/problem-candidates``: incidents that recur (``core.problem_candidates``).

Reads need a viewer key, writes a responder key. The work is ``core.problem_desk``'s:
a problem and the incidents it links are written together, in one atomic write.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from core.errors import (
    Conflict,
    FieldProblem,
    IdempotencyMismatch,
    InvalidFields,
    NotFound,
)
from core.problem_candidates import Candidate, scan_candidates
from core.problem_desk import act, create, etag
from core.problems import (
    MAX_BODY_CHARACTERS,
    TRANSITIONS,
    Problem,
    ProblemState,
    parse_action,
    parse_create,
)
from core.timestamps import format_rfc3339
from rules.api_keys import Role
from rules.durations import format_duration
from tocsin.keys import CLOCK, RULES, STORE
from tocsin.operator.auth import require
from tocsin.operator.idempotency import idempotency_key, if_match
from tocsin.operator.json_body import body_limit, read_json_body
from tocsin.operator.params import int_param

# A body's fields' limits (a creation's 100 incident ids and texts), each character
# escaped in the worst way.
MAX_BODY_BYTES = body_limit(MAX_BODY_CHARACTERS)
MAX_LIMIT = 1000
_LIST_PARAMS = {"state", "limit"}


def add_problem_routes(router: web.UrlDispatcher) -> None:
    """Registers the problem endpoints."""
    router.add_post("/api/v1/problems", create_problem)
    router.add_get("/api/v1/problems", list_problems)
    router.add_get("/api/v1/problems/{id}", get_problem)
    router.add_post("/api/v1/problems/{id}/{action}", problem_action)
    router.add_get("/api/v1/problem-candidates", problem_candidates)


async def create_problem(request: web.Request) -> web.Response:
    """Creates a problem from one or more incidents; 201 with it.

    With an ``Idempotency-Key`` the problem's id is derived from the key (scoped to the
    API key), so a retried POST finds the problem its first attempt created, whatever
    happened to that attempt's answer: the store refuses a second problem of one id, in
    the same atomic write that would create it. The retry answers that problem (as it
    is now, marked ``Idempotent-Replayed``); the same key with another title,
    description or author is a 422.
    """
    api_key = require(request, Role.RESPONDER)
    body = await _read_body(request)
    parsed = parse_create(body)
    key = idempotency_key(request, api_key.name, body)
    store = request.app[STORE]
    now = request.app[CLOCK].now()
    if key is None:
        return _created(await create(store, parsed, uuid.uuid4().hex, api_key.name, now))
    problem_id = key.key[:32]
    existing = await store.get_problem(problem_id)
    if existing is None:
        try:
            return _created(await create(store, parsed, problem_id, api_key.name, now))
        except Conflict:
            # Another attempt with this key created it meanwhile, or an incident is taken.
            existing = await store.get_problem(problem_id)
            if existing is None:
                raise
    same = (existing.title, existing.description, existing.created_by) == (
        parsed.title,
        parsed.description,
        api_key.name,
    )
    if not same or not set(parsed.incidents) <= set(existing.incidents):
        raise IdempotencyMismatch("this Idempotency-Key created another problem")
    response = _created(existing)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _created(problem: Problem) -> web.Response:
    """The 201 answer of a created problem."""
    return web.json_response(
        problem_view(problem),
        status=201,
        headers={"Location": f"/api/v1/problems/{problem.id}", "ETag": etag(problem)},
    )


async def list_problems(request: web.Request) -> web.Response:
    """Lists problems, newest first: ``?state=S&limit=N``."""
    require(request, Role.VIEWER)
    params = request.query
    problems = [
        FieldProblem(name, f"unknown parameter; allowed: {', '.join(sorted(_LIST_PARAMS))}")
        for name in params
        if name not in _LIST_PARAMS
    ]
    state = _state_param(params, problems)
    limit = int_param(params, "limit", 100, 1, MAX_LIMIT, problems)
    if problems:
        raise InvalidFields(problems)
    found = await request.app[STORE].list_problems(state, limit)
    return web.json_response({"problems": [problem_view(p) for p in found]})


async def get_problem(request: web.Request) -> web.Response:
    """Returns one problem; 404 if there is none with that id."""
    require(request, Role.VIEWER)
    problem_id = request.match_info["id"]
    problem = await request.app[STORE].get_problem(problem_id)
    if problem is None:
        raise NotFound(f"no problem {problem_id!r}", field="id")
    return web.json_response(problem_view(problem), headers={"ETag": etag(problem)})


async def problem_action(request: web.Request) -> web.Response:
    """Links or unlinks an incident, or updates the problem; 200 with the problem.

    ``If-Match: "<version>"`` makes it a 412 if someone changed the problem since.
    """
    api_key = require(request, Role.RESPONDER)
    expected = if_match(request)
    parsed = parse_action(request.match_info["action"], await _read_body(request))
    now = request.app[CLOCK].now()
    problem = await act(
        request.app[STORE], request.match_info["id"], parsed, api_key.name, now, expected
    )
    return web.json_response(problem_view(problem), headers={"ETag": etag(problem)})


async def problem_candidates(request: web.Request) -> web.Response:
    """Lists the incidents of the rules' period that recur, by what they share."""
    require(request, Role.VIEWER)
    if request.query:
        raise InvalidFields(
            [FieldProblem(name, "unknown parameter; this takes none") for name in request.query]
        )
    recurrence = request.app[RULES].current.rules.problems.recurrence
    now = request.app[CLOCK].now()
    scan = await scan_candidates(request.app[STORE], recurrence, now)
    return web.json_response(
        {
            "candidates": [candidate_view(c) for c in scan.candidates],
            "recurrence": {"count": recurrence.count, "within": format_duration(recurrence.within)},
            "since": format_rfc3339(scan.since),
            "scanned": scan.scanned,
            "truncated": scan.truncated,
        }
    )


def problem_view(problem: Problem) -> dict[str, Any]:
    """The problem as the API shows it, with the states it may move to."""
    return {
        "id": problem.id,
        "title": problem.title,
        "description": problem.description,
        "state": problem.state.value,
        "root_cause": problem.root_cause,
        "workaround": problem.workaround,
        "known_error": problem.known_error,
        "incidents": list(problem.incidents),
        "created_at": format_rfc3339(problem.created_at),
        "created_by": problem.created_by,
        "updated_at": format_rfc3339(problem.updated_at),
        "updated_by": problem.updated_by,
        "version": problem.version,
        "allowed_states": [s.value for s in TRANSITIONS[problem.state]],
    }


def candidate_view(candidate: Candidate) -> dict[str, Any]:
    """A candidate: its kind, the key fields it shares, its incidents (oldest first)."""
    return {
        "kind": candidate.kind,
        **candidate.key,
        "incidents": list(candidate.incidents),
        "count": candidate.count,
        "first_opened_at": format_rfc3339(candidate.first_opened_at),
        "last_opened_at": format_rfc3339(candidate.last_opened_at),
    }


def _state_param(params: Mapping[str, str], problems: list[FieldProblem]) -> ProblemState | None:
    raw = params.get("state")
    if raw is None:
        return None
    names = [s.value for s in ProblemState]
    if raw not in names:
        problems.append(FieldProblem("state", f"unknown state {raw!r}; use {', '.join(names)}"))
        return None
    return ProblemState(raw)


async def _read_body(request: web.Request) -> Any:
    """The JSON body (None when empty), at most MAX_BODY_BYTES (see ``json_body``)."""
    return await read_json_body(request, MAX_BODY_BYTES, "a problem body")
