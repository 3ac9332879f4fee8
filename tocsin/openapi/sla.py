"""The SLA part of the OpenAPI document (tocsin.operator.sla)."""

from __future__ import annotations

from typing import Any

from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    integer,
    nullable,
    path_id,
    ref,
    responses,
    text,
)


def sla_schemas() -> dict[str, Schema]:
    """The SLA clock schemas."""
    seconds = {"type": "number", "minimum": 0}
    clock = closed(
        {
            "clock": {"type": "string", "enum": ["acknowledge", "resolve"]},
            "target": text(),
            "target_seconds": seconds,
            "elapsed_seconds": seconds,
            "status": {
                "type": "string",
                "enum": ["running", "paused", "breached", "met", "missed"],
            },
            "stopped_at": nullable(instant()),
            "breach_at": nullable(instant()),
            "next_threshold": nullable(closed({"name": text(), "at": nullable(instant())})),
            "handled": array(text()),
        },
        description="One SLA clock: its target, time so far less holds, status, next threshold.",
    )
    sla = closed(
        {
            "incident": text(),
            "cycle": nullable(integer(1)),
            "priority": nullable(text()),
            "on_hold": {"type": "boolean"},
            "held_seconds": seconds,
            "clocks": array(ref("SlaClock")),
        },
        description="An incident's SLA clocks (none until the SLA stage has seen it).",
    )
    return {"SlaClock": clock, "IncidentSla": sla}


def sla_paths() -> dict[str, Any]:
    """The SLA operation."""
    return {
        "/api/v1/incidents/{id}/sla": {
            "get": {
                "operationId": "getIncidentSla",
                "tags": ["incidents"],
                "summary": "An incident's SLA clocks: status, time so far, when it breaches.",
                "x-required-role": "viewer",
                "parameters": [path_id("The incident's id.")],
                "responses": responses(
                    {"200": answer("The clocks.", ref("IncidentSla"))}, [403, 404]
                ),
            }
        }
    }
