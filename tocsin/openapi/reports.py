"""The closure report part of the OpenAPI document (tocsin.reports.closure_http)."""

from __future__ import annotations

from typing import Any

from tocsin.openapi.schemas import path_id, query, responses
from tocsin.reports.closure_http import FORMATS


def report_paths() -> dict[str, Any]:
    """``GET /api/v1/incidents/{id}/report``."""
    document = {"type": "string"}
    return {
        "/api/v1/incidents/{id}/report": {
            "get": {
                "operationId": "getIncidentReport",
                "tags": ["incidents"],
                "summary": "A closed incident's closure report, in Markdown or HTML.",
                "description": "Markdown unless `format=html` or an Accept header that "
                "prefers text/html; `format` wins over Accept. 409 until the incident is "
                "closed.",
                "x-required-role": "viewer",
                "parameters": [
                    path_id("The incident's id."),
                    query("format", {"enum": list(FORMATS)}, "markdown (default) or html."),
                ],
                "responses": responses(
                    {
                        "200": {
                            "description": "The report.",
                            "headers": {
                                "Vary": {"required": True, "schema": {"const": "Accept"}},
                            },
                            "content": {
                                "text/markdown": {"schema": document},
                                "text/html": {"schema": document},
                            },
                        }
                    },
                    [400, 403, 404, 409],
                ),
            }
        }
    }
