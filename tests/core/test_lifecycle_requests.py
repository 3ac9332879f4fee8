"""Reading a lifecycle action's request from JSON: typed, strict, every bad field named."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from core.errors import InvalidFields
from core.incident import IncidentState
from core.lifecycle import LifecyclePolicy, allowed_actions, apply
from core.lifecycle_requests import (
    MAX_NOTES,
    MAX_REASON,
    PERSON_ACTIONS,
    Acknowledge,
    Action,
    Close,
    Hold,
    Reopen,
    Request,
    Resolve,
    Resume,
    parse_request,
    request_fields,
)
from tests.core.test_lifecycle import ANA, T0, in_state
from tocsin.middleware import errors_middleware


@pytest.mark.parametrize(
    ("action", "body", "expected"),
    [
        # Optional notes may be left out, or the body with them.
        pytest.param("acknowledge", None, Acknowledge(), id="ack-no-body"),
        pytest.param("acknowledge", {"note": " on it "}, Acknowledge("on it"), id="ack-note"),
        pytest.param("hold", {"reason": "vendor"}, Hold("vendor"), id="hold"),
        pytest.param("resume", {}, Resume(), id="resume"),
        pytest.param(
            "resolve",
            {"resolution_code": "not_reproducible", "notes": "gone by morning"},
            Resolve("not_reproducible", "gone by morning"),
            id="resolve",
        ),
        pytest.param("close", {"note": None}, Close(), id="close-null-note"),
        pytest.param("reopen", {"reason": "x" * MAX_REASON}, Reopen("x" * MAX_REASON), id="max"),
    ],
)
def test_valid_bodies_make_typed_requests(action: str, body: object, expected: Request) -> None:
    assert parse_request(action, body) == expected


@pytest.mark.parametrize(
    ("action", "body", "problems"),
    [
        # A missing required field is named.
        pytest.param("hold", {}, [("reason", "required")], id="hold-missing-reason"),
        pytest.param(
            "resolve",
            {"notes": "n"},
            [("resolution_code", "required")],
            id="resolve-missing-code",
        ),
        pytest.param(
            "resolve",
            None,
            [("resolution_code", "required"), ("notes", "required")],
            id="resolve-no-body",
        ),
        # Not a string, or only blanks.
        pytest.param("reopen", {"reason": 3}, [("reason", "must be a string")], id="type"),
        pytest.param("hold", {"reason": "  "}, [("reason", "must not be empty")], id="blank"),
        # Over the size limits.
        pytest.param(
            "hold",
            {"reason": "x" * (MAX_REASON + 1)},
            [("reason", f"at most {MAX_REASON} characters, not {MAX_REASON + 1}")],
            id="reason-too-long",
        ),
        pytest.param(
            "resolve",
            {"resolution_code": "not_reproducible", "notes": "x" * (MAX_NOTES + 1)},
            [("notes", f"at most {MAX_NOTES} characters, not {MAX_NOTES + 1}")],
            id="notes-too-long",
        ),
        # A merge's code by hand: it would leave merged_into empty.
        pytest.param(
            "resolve",
            {"resolution_code": "duplicate", "notes": ""},
            [
                (
                    "resolution_code",
                    "'duplicate' is set by a merge only: "
                    'POST /api/v1/incidents/{id}/merge {"into": id}',
                ),
                ("notes", "must not be empty"),
            ],
            id="duplicate-by-hand",
        ),
        # Unknown fields are rejected by name, beside the other problems.
        pytest.param(
            "acknowledge",
            {"assignee": "ana", "note": 1},
            [("assignee", "unknown field; allowed: note"), ("note", "must be a string")],
            id="unknown",
        ),
        # Not an object; no such action (automatic ones are not a person's).
        pytest.param("close", ["x"], [("body", "must be a JSON object")], id="not-object"),
        pytest.param(
            "auto_close",
            {},
            [("action", "unknown action 'auto_close'; use " + ", ".join(PERSON_ACTIONS))],
            id="automatic",
        ),
    ],
)
def test_bad_bodies_name_every_field_at_fault(
    action: str, body: object, problems: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidFields) as raised:
        parse_request(action, body)
    assert raised.value.status == 400
    assert [(p.field, p.reason) for p in raised.value.problems] == problems
    assert raised.value.field == problems[0][0]


def test_each_person_s_action_lists_its_fields() -> None:
    assert request_fields(Action.RESOLVE) == {
        "resolution_code": (63, True),
        "notes": (MAX_NOTES, True),
    }
    assert request_fields(Action.ACKNOWLEDGE) == {"note": (MAX_NOTES, False)}


async def test_over_http_a_bad_action_is_409_listing_the_allowed_and_a_missing_field_400(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
) -> None:
    # The errors answer through the one error middleware, as the operator API will.
    async def act(request: web.Request) -> web.Response:
        state = IncidentState(request.match_info["state"])
        body = await request.json() if request.can_read_body else None
        parsed = parse_request(request.match_info["action"], body)
        apply(in_state(state), parsed, ANA, T0, LifecyclePolicy())
        return web.json_response({})

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_post("/{state}/{action}", act)
    client = await aiohttp_client(app)

    conflict = await client.post("/resolved/acknowledge", json={})
    assert conflict.status == 409
    body = await conflict.json()
    assert body["state"] == "resolved"
    assert body["allowed"] == list(allowed_actions(IncidentState.RESOLVED)) == ["close", "reopen"]

    missing = await client.post("/triggered/resolve", json={"notes": "fixed"})
    assert missing.status == 400
    body = await missing.json()
    assert body["field"] == "resolution_code"
    assert body["problems"] == [{"field": "resolution_code", "reason": "required"}]

    assert (await client.post("/triggered/hold", json={"reason": "vendor"})).status == 200
