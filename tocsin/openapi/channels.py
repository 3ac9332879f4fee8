"""The channels part of the OpenAPI document (tocsin.operator.channels)."""

from __future__ import annotations

from typing import Any

from tocsin.openapi.schemas import (
    Schema,
    answer,
    array,
    closed,
    instant,
    nullable,
    ref,
    responses,
    text,
)


def channel_schemas() -> dict[str, Schema]:
    """The channel status schemas."""
    channel = closed(
        {
            "name": text(),
            "kind": text(),
            "send_resolved": {"type": "boolean"},
            "status": {"type": "string", "enum": ["ok", "failing", "paused"]},
            "failures": {"type": "integer", "minimum": 0},
            "paused_until": nullable(instant()),
            "paused_since": nullable(instant()),
            "last_error": nullable(text()),
        },
        description="A channel and its delivery state: failures in a row, its pause.",
    )
    return {"ChannelStatus": channel, "Channels": closed({"channels": array(ref("ChannelStatus"))})}


def channel_paths() -> dict[str, Any]:
    """The channel status operation."""
    return {
        "/api/v1/channels": {
            "get": {
                "operationId": "getChannels",
                "tags": ["oncall"],
                "summary": "Every notification channel and whether delivery paused it.",
                "x-required-role": "viewer",
                "responses": responses({"200": answer("The channels.", ref("Channels"))}, [403]),
            }
        }
    }
