"""Building blocks of the OpenAPI document: JSON Schema shorthands, errors, shared answers.

Every area's builder (incidents, silences, problems) writes its schemas with these, so
that the document says the same thing the same way everywhere: a nullable value is
``{"type": [..., "null"]}`` (OpenAPI 3.1 is JSON Schema 2020-12, no ``nullable``), an
object Tocsin answers lists each member it sends and no other, and every error answer
is the JSON body of ``tocsin.middleware.error_body``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.roles import Role

Schema = dict[str, Any]

# A string that is not only spaces: the operator API refuses "" and "   " alike.
NOT_BLANK = r"\S"


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or JSON null."""
    kind = schema.get("type")
    if isinstance(kind, str) and set(schema) <= {"type", "format", "description"}:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def text(max_length: int | None = None, *, blank: bool = True, **extra: Any) -> Schema:
    """A string of at most ``max_length`` characters; ``blank=False``: not only spaces."""
    schema: Schema = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    if not blank:
        schema["minLength"] = 1
        schema["pattern"] = NOT_BLANK
    return schema


def optional_text(max_length: int) -> Schema:
    """An optional body field: null (read as absent), or not blank and at most ``max_length``."""
    return {"type": ["string", "null"], "minLength": 1, "maxLength": max_length,
            "pattern": NOT_BLANK}  # fmt: skip


def instant() -> Schema:
    """An RFC 3339 instant, as ``core.timestamps.format_rfc3339`` writes it (UTC, ``Z``)."""
    return {"type": "string", "format": "date-time"}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    """A whole number in ``[minimum, maximum]``."""
    schema: Schema = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def array(items: Schema, **extra: Any) -> Schema:
    """A JSON array of ``items``."""
    return {"type": "array", "items": items, **extra}


def string_map() -> Schema:
    """An object of string values (labels, annotations)."""
    return {"type": "object", "additionalProperties": {"type": "string"}}


def closed(
    properties: Mapping[str, Schema],
    required: Iterable[str] | None = None,
    description: str | None = None,
) -> Schema:
    """An object with exactly these members; all required unless ``required`` says which.

    Answers are closed so that a member the code adds and the document lacks fails the
    schema run; request bodies are closed because unknown fields are refused by name.
    """
    schema: Schema = {
        "type": "object",
        "properties": dict(properties),
        "required": sorted(properties if required is None else required),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def json_content(schema: Schema) -> dict[str, Any]:
    """A JSON media type map holding ``schema``."""
    return {"application/json": {"schema": schema}}


def request_body(schema: Schema, *, required: bool = True, description: str = "") -> dict[str, Any]:
    """A JSON request body."""
    body: dict[str, Any] = {"required": required, "content": json_content(schema)}
    if description:
        body["description"] = description
    return body


def answer(
    description: str,
    schema: Schema,
    *,
    headers: Mapping[str, Any] | None = None,
    links: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON response, with its headers and links if any."""
    response: dict[str, Any] = {"description": description, "content": json_content(schema)}
    if headers:
        response["headers"] = dict(headers)
    if links:
        response["links"] = dict(links)
    return response


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to ``operation_id`` with parameters taken from this answer."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def query(name: str, schema: Schema, description: str) -> dict[str, Any]:
    """An optional query parameter."""
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


def path_id(description: str, name: str = "id") -> dict[str, Any]:
    """The ``{id}`` path parameter."""
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1}, "description": description}  # fmt: skip


# --- errors: tocsin.middleware.error_body plus each error's details() -------------------

_ROLES = [role.value for role in Role]
_FIELD_PROBLEM = closed(
    {"field": text(), "reason": text()},
    description="One parameter, header or body field at fault, and why.",
)

ERROR_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "Every error answer: status, code and message; ``field`` names what "
        "is at fault when one thing is.",
        "properties": {
            "status": {"const": "error"},
            "code": integer(400, 599),
            "error": text(),
            "field": text(),
        },
        "required": ["status", "code", "error"],
    },
    "FieldProblem": _FIELD_PROBLEM,
    "InvalidFields": {
        "allOf": [ref("Error")],
        "description": "400: each parameter or field at fault is named in ``problems``; "
        "``field`` is the first.",
        "properties": {
            "code": {"const": 400},
            "problems": array(ref("FieldProblem")),
            "unlisted": {
                "type": "integer",
                "minimum": 1,
                "description": "How many more problems there were than the 50 listed.",
            },
        },
        "required": ["problems", "field"],
    },
    "Forbidden": {
        "allOf": [ref("Error")],
        "description": "403: the API key is valid but cannot do this. When its role is too "
        "low, ``field`` is Authorization, with the key's ``role`` and the ``required_role``.",
        "properties": {
            "code": {"const": 403},
            "role": {"enum": _ROLES},
            "required_role": {"enum": _ROLES},
        },
    },
    "Conflict": {
        "allOf": [ref("Error")],
        "description": "409: the thing is not in a state that allows this. For an incident "
        "action, ``state`` is the incident's and ``allowed`` the actions it allows now.",
        "properties": {
            "code": {"const": 409},
            "state": text(),
            "allowed": array(text()),
        },
    },
    "PreconditionFailed": {
        "allOf": [ref("Error")],
        "description": "412: someone changed the incident first; ``etag`` is its current ETag.",
        "properties": {"code": {"const": 412}, "field": {"const": "If-Match"}, "etag": text()},
        "required": ["etag"],
    },
    "IdempotencyMismatch": {
        "allOf": [ref("Error")],
        "description": "422: this Idempotency-Key was used with another request.",
        "properties": {"code": {"const": 422}, "field": {"const": "Idempotency-Key"}},
        "required": ["field"],
    },
}

# Each error status the operator API answers, with its description and body.
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("A parameter or field is invalid; each is named.", "InvalidFields"),
    401: ("No API key, or one the rules do not hold.", "Error"),
    403: ("The API key's role is too low for this.", "Forbidden"),
    404: ("No such thing.", "Error"),
    408: ("The body did not arrive within the server's body deadline.", "Error"),
    409: ("Not allowed in the thing's present state.", "Conflict"),
    412: ("If-Match names a version that is no longer the current one.", "PreconditionFailed"),
    413: ("The body is larger than the limit ``field`` names.", "Error"),
    415: ("The body is not declared as application/json.", "Error"),
    422: ("This Idempotency-Key was used before with another request.", "IdempotencyMismatch"),
    503: ("The store is unavailable; retry later.", "Error"),
}


def error_responses() -> dict[str, Any]:
    """The shared error answers, as ``components.responses``."""
    return {
        str(code): answer(description, ref(schema))
        for code, (description, schema) in _ERRORS.items()
    }


def errors(*codes: int) -> dict[str, Any]:
    """References to the shared error answers with these status codes (always 401, 503)."""
    every = sorted({401, 503, *codes})
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in every}


def responses(ok: Mapping[str, Any], error_codes: Sequence[int]) -> dict[str, Any]:
    """An operation's answers: its success answers and the error answers it can give."""
    return {**ok, **errors(*error_codes)}
