"""The OpenAPI document of the operator API: valid OpenAPI 3.1, served, and true to the code.

Its routes are the application's routes (walked from ``app.router``), both ways; its
request bodies carry the limits the code enforces. The schemathesis run over every
operation is in ``test_openapi_v1_schemathesis``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from openapi_spec_validator import validate

from tests.app_harness import Ingest
from tocsin.openapi import DOCUMENT_PATH, build_document
from tocsin.operator import silence_input

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def routed_operations(app: web.Application) -> set[tuple[str, str]]:
    """Every (method, path) the application registers under /api/v1."""
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
    routed = routed_operations(ingest.client.app)
    documented = documented_operations(build_document())
    assert routed, "no /api/v1 route found: the walk itself is broken"
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented operations the app does not serve"


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
            assert operation["x-required-role"] in {"viewer", "responder", "admin"}, where
            # Every operation can answer 401 (no key) and 503 (store down).
            assert {"401", "503"} <= set(operation["responses"]), where


def test_the_silence_body_lists_exactly_the_fields_the_code_reads() -> None:
    schema = build_document()["components"]["schemas"]["NewSilence"]
    assert set(schema["properties"]) == silence_input._KEYS
    assert schema["additionalProperties"] is False
