"""The OpenAPI document of the operator API: valid OpenAPI 3.1, served, and true to the code.

Its routes are the application's routes (walked from ``app.router``), both ways; its
request bodies carry the limits the code enforces. The schemathesis run over every
operation is in ``test_openapi_v1_schemathesis``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate

from core.incident_requests import ACTIONS
from core.lifecycle_requests import PERSON_ACTIONS, request_fields
from tests.app_harness import ADMIN, RESPONDER, VIEWER, Ingest
from tocsin.openapi import DOCUMENT_PATH, build_document
from tocsin.operator import silence_input

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def routed_operations(app: web.Application) -> set[tuple[str, str]]:
    """Every (method, path template) the application registers under /api/v1."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/v1/") and route.method in _METHODS:
            found.add((route.method, path))
    return found


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (method, path) the document describes."""
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in _METHODS
    }


async def route_serving(app: web.Application, method: str, path: str) -> tuple[str, str] | None:
    """The (method, path template) of the route the app dispatches a documented call to.

    Each ``{parameter}`` of the documented path is given a value and the request goes
    through the app's own router, so a documented path such as ``.../acknowledge`` is
    served by a route ``.../{action}``, and ``.../tasks`` by its own route before it.
    """
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    match = await app.router.resolve(make_mocked_request(method, concrete, app=app))
    if match.http_exception is not None or match.route.resource is None:
        return None
    return (match.route.method, match.route.resource.canonical)


def test_the_document_is_valid_openapi_3_1() -> None:
    document = build_document()
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises OpenAPIValidationError naming the first fault


async def test_the_document_is_served_without_an_api_key(ingest: Ingest) -> None:
    response = await ingest.client.get(DOCUMENT_PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == build_document()


async def test_every_v1_route_is_documented_and_every_documented_operation_is_routed(
    ingest: Ingest,
) -> None:
    app = ingest.client.app
    routed = routed_operations(app)
    assert routed, "no /api/v1 route found: the walk itself is broken"
    served = {}
    for method, path in documented_operations(build_document()):
        served[(method, path)] = await route_serving(app, method, path)
    unserved = sorted(op for op, route in served.items() if route is None)
    assert unserved == [], "documented operations the app does not serve"
    assert routed - set(served.values()) == set(), "routes missing from the OpenAPI document"


def test_every_incident_action_the_code_reads_has_its_own_path() -> None:
    paths = build_document()["paths"]
    actions = {p.split("/")[-1] for p in paths if re.fullmatch(r"/api/v1/incidents/\{id\}/\w+", p)}
    assert actions - {"tasks", "report", "sla"} == set(ACTIONS)


def test_action_bodies_carry_the_codes_fields_and_limits() -> None:
    paths = build_document()["paths"]
    for action in PERSON_ACTIONS:
        body = paths[f"/api/v1/incidents/{{id}}/{action}"]["post"]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
        assert schema["additionalProperties"] is False, action
        fields = request_fields(action)
        assert {n: p["maxLength"] for n, p in schema["properties"].items()} == {
            n: limit for n, (limit, _) in fields.items()
        }, action
        assert set(schema["required"]) == {n for n, (_, req) in fields.items() if req}, action
        # An action whose fields are all optional may be sent without a body.
        assert body["required"] == bool(schema["required"]), action


def test_operations_have_unique_ids_a_role_and_error_answers() -> None:
    document = build_document()
    seen: set[str] = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            assert operation["operationId"] not in seen, where
            seen.add(operation["operationId"])
            # "none": a calendar feed, whose credential is the token in its URL.
            roles = {"viewer", "responder", "admin"} | (
                {"none"} if operation.get("security") == [] else set()
            )
            assert operation["x-required-role"] in roles, where
            # Every operation can answer 401 (no key) and 503 (store down).
            assert {"401", "503"} <= set(operation["responses"]), where


def test_the_silence_body_lists_exactly_the_fields_the_code_reads() -> None:
    schema = build_document()["components"]["schemas"]["NewSilence"]
    assert set(schema["properties"]) == silence_input._KEYS
    assert schema["additionalProperties"] is False


async def test_each_operation_needs_exactly_the_role_it_documents(ingest: Ingest) -> None:
    # Every handler checks the key before anything else: a key one role below the
    # documented one is a 403 naming that role, and the documented role is let through.
    below = {"responder": VIEWER, "admin": RESPONDER}
    at = {"viewer": VIEWER, "responder": RESPONDER, "admin": ADMIN}
    for method, path in sorted(documented_operations(build_document())):
        operation = build_document()["paths"][path][method.lower()]
        role = operation["x-required-role"]
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        allowed = await ingest.client.request(method, concrete, headers=at.get(role, {}), json={})
        assert allowed.status != 403, f"{method} {path} refused a {role} key"
        if role in below:
            refused = await ingest.client.request(method, concrete, headers=below[role], json={})
            assert refused.status == 403, f"{method} {path} let a key below {role} through"
            assert (await refused.json())["required_role"] == role, f"{method} {path}"


def _bodies(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each POST path with a JSON body and the body's schema, references resolved."""
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        body = item.get("post", {}).get("requestBody")
        if body is None:
            continue
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        found.append((path, schema))
    return found


def _filled(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema's example, else a body with each required field given a short value."""
    if "examples" in schema:
        return dict(schema["examples"][0])
    values: dict[str, Any] = {}
    for day, name in enumerate(schema["required"], start=1):
        field = schema["properties"][name]
        if "enum" in field:
            values[name] = field["enum"][0]
        elif field.get("format") == "date-time":  # later fields later: until after for
            values[name] = f"2099-01-{day:02}T00:00:00Z"
        else:
            values[name] = ["x1"] if field.get("type") == "array" or "oneOf" in field else "a"
    if "anyOf" in schema:  # assign: a team or a person
        values.setdefault(schema["anyOf"][0]["required"][0], "a")
    if schema.get("minProperties") and not values:  # a problem's update: one field at least
        values[next(iter(schema["properties"]))] = "a"
    return values


async def _named(ingest: Ingest, path: str, body: dict[str, Any]) -> set[str] | None:
    """The fields a POST's 400 names (none if it is not a 400); None for a 404."""
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    response = await ingest.client.post(concrete, json=body, headers=ADMIN)
    if response.status == 404:
        return None
    if response.status != 400:
        return set()
    return {p["field"] for p in (await response.json())["problems"]}


# Writes that read the thing they change before their body: a bad body on a thing that
# does not exist is a 404. Their limits are met by the schemathesis run on real ones.
READ_BEFORE_BODY = {
    "/api/v1/status/incidents/{id}/updates",
    "/api/v1/status/maintenances/{id}/updates",
}
# Fields whose values must name things that exist (no incident or component x1).
NAMING = {"incidents", "components", "components.x1"}
# Fields whose value is one of the rules' list, judged with the shape: "x" * limit is not.
CHOSEN = {"resolution_code", "priority"}


async def test_each_body_field_has_the_limit_and_the_need_the_code_enforces(
    ingest: Ingest,
) -> None:
    # Bodies are read before the thing they act on: a bad field is a 400 naming it even
    # on an incident or problem that does not exist (whose 404 a good body gets).
    read_first = set()
    for path, schema in _bodies(build_document()):
        base = _filled(schema)
        unknown = await _named(ingest, path, {**base, "surplus": "a"})
        if unknown is None:  # a 404 whatever the body
            read_first.add(path)
            continue
        assert "surplus" in unknown, f"{path}: an unknown field is taken"
        # Only for what it names, not for its form.
        assert (await _named(ingest, path, base) or set()) <= NAMING, f"{path}: body refused"
        for name, field in schema["properties"].items():
            limit = field.get("maxLength")
            if limit is not None:
                if name not in CHOSEN:
                    at_limit = await _named(ingest, path, {**base, name: "x" * limit})
                    assert name not in (at_limit or ()), f"{path}: {name} of {limit} refused"
                over = await _named(ingest, path, {**base, name: "x" * (limit + 1)})
                assert name in (over or ()), f"{path}: {name} of {limit + 1} characters taken"
        for name in schema["required"]:
            missing = {k: v for k, v in base.items() if k != name}
            assert name in (await _named(ingest, path, missing) or ()), f"{path}: {name}"
    assert read_first == READ_BEFORE_BODY, "writes that read their thing before their body"
