"""The silences part of the OpenAPI document (tocsin.operator.silences)."""

from __future__ import annotations

from typing import Any

from core.silence import SilenceState
from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    link,
    nullable,
    path_id,
    ref,
    request_body,
    responses,
    text,
)

_TAGS = ["silences"]


def silence_schemas() -> dict[str, Schema]:
    """The silence component schemas."""
    return {
        "NewSilence": closed(
            {
                "matchers": array(
                    text(description='Alertmanager syntax, e.g. alertname="DiskFull"'),
                    minItems=1,
                ),
                "starts_at": nullable(instant()),
                "ends_at": instant(),
                "comment": text(blank=False),
                "created_by": text(blank=False),
            },
            required=["matchers", "ends_at", "comment"],
            description="A silence to create; it starts now unless starts_at says later. "
            "created_by defaults to the API key's name.",
        )
        | {
            "examples": [
                {
                    "matchers": ['alertname="DiskFull"', 'instance=~"db[0-9]+:9100"'],
                    "ends_at": "2099-01-01T00:00:00Z",
                    "comment": "replacing the disks",
                }
            ]
        },
        "Silence": closed(
            {
                "id": text(),
                "matchers": array(text()),
                "starts_at": instant(),
                "ends_at": instant(),
                "created_by": text(),
                "comment": text(),
                "created_at": nullable(instant()),
                "state": {"enum": [s.value for s in SilenceState]},
                "source": {"enum": ["api", "rules"]},
                "read_only": {"type": "boolean"},
            },
            description="A silence, an operator's or (source rules, read-only) the rules' own.",
        ),
        "SilenceList": closed({"silences": array(ref("Silence"))}),
    }


def silence_paths() -> dict[str, Any]:
    """The silence operations."""
    by_id = {"id": "$response.body#/id"}
    return {
        "/api/v1/silences": {
            "post": {
                "operationId": "createSilence",
                "tags": _TAGS,
                "summary": "Create a silence.",
                "x-required-role": "responder",
                "requestBody": request_body(ref("NewSilence")),
                "responses": responses(
                    {
                        "201": answer(
                            "The silence created.",
                            ref("Silence"),
                            links={
                                "get": link("getSilence", "Read it back.", **by_id),
                                "expire": link("expireSilence", "End it now.", **by_id),
                            },
                        )
                    },
                    [400, 403, 408, 409, 413, 415],
                ),
            },
            "get": {
                "operationId": "listSilences",
                "tags": _TAGS,
                "summary": "List operators' silences, newest first, then the rules' own.",
                "x-required-role": "viewer",
                "responses": responses({"200": answer("Silences.", ref("SilenceList"))}, [403]),
            },
        },
        "/api/v1/silences/{id}": {
            "parameters": [path_id("The silence's id; `rules:<name>` for a rules silence.")],
            "get": {
                "operationId": "getSilence",
                "tags": _TAGS,
                "summary": "One silence.",
                "x-required-role": "viewer",
                "responses": responses({"200": answer("The silence.", ref("Silence"))}, [403, 404]),
            },
            "delete": {
                "operationId": "expireSilence",
                "tags": _TAGS,
                "summary": "End a silence now; 409 if it already ended or lives in the rules.",
                "x-required-role": "responder",
                "responses": responses(
                    {"200": answer("The silence, expired.", ref("Silence"))}, [403, 404, 409]
                ),
            },
        },
    }
