"""The whole OpenAPI 3.1 document of the operator API, assembled from each area's builder.

Each area (incidents, silences, ...) writes its own paths and schemas; this module adds
what they share: the API keys' security schemes, the error answers and the headers.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from tocsin.openapi.actions import action_paths
from tocsin.openapi.channels import channel_paths, channel_schemas
from tocsin.openapi.incidents import incident_paths, incident_schemas
from tocsin.openapi.oncall import oncall_paths, oncall_schemas
from tocsin.openapi.problems import problem_paths, problem_schemas
from tocsin.openapi.reports import report_paths
from tocsin.openapi.schemas import ERROR_SCHEMAS, error_responses
from tocsin.openapi.silences import silence_paths, silence_schemas
from tocsin.openapi.sla import sla_paths, sla_schemas
from tocsin.openapi.status import status_paths, status_schemas

DOCUMENT_PATH = "/api/openapi.json"

_DESCRIPTION = """\
The operator API of Tocsin: incidents, problems and silences, for people and tools with an API key
from the rules (`api_keys`). Each key has a role: `viewer` reads, `responder` also works
incidents and silences, `admin` may do everything; each operation's `x-required-role`
says which it needs. A key goes as a bearer token or as the password of basic auth.

Errors are JSON: `{"status": "error", "code": N, "error": "...", "field": "..."}`; a 400
lists each parameter or field at fault in `problems`, a 409 on an incident says which
actions its state allows. Bodies are JSON objects; unknown fields are refused by name,
and every text has a size limit (`maxLength`).

Incident writes answer the incident with its `ETag` ("<version>"): send it back as
`If-Match` and a write over someone else's change is a 412 carrying the current ETag.
An `Idempotency-Key` makes a retried POST answer its first answer without acting again.
Lists are newest first, a page at a time: `next` is the relative URL of the next page.
"""


def _version() -> str:
    try:
        return metadata.version("tocsin")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "0.0.0"


def build_document() -> dict[str, Any]:
    """Returns the OpenAPI 3.1 document of every /api/v1 operation."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tocsin operator API",
            "version": _version(),
            "description": _DESCRIPTION,
        },
        "tags": [
            {"name": "incidents", "description": "Incidents: read, filter, work them."},
            {"name": "problems", "description": "Problems: the common cause of incidents."},
            {"name": "silences", "description": "Silences: mute alerts by their labels."},
            {"name": "oncall", "description": "Who is on call: shifts and calendar feeds."},
            {"name": "status page", "description": "Public incidents and maintenance."},
        ],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": {
            **incident_paths(),
            **action_paths(),
            **report_paths(),
            **problem_paths(),
            **silence_paths(),
            **oncall_paths(),
            **channel_paths(),
            **sla_paths(),
            **status_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from the rules' api_keys.",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "The API key as the password; the user name is not checked.",
                },
            },
            "schemas": {
                **ERROR_SCHEMAS,
                **incident_schemas(),
                **problem_schemas(),
                **silence_schemas(),
                **oncall_schemas(),
                **channel_schemas(),
                **sla_schemas(),
                **status_schemas(),
            },
            "responses": error_responses(),
        },
    }
