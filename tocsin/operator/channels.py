"""How each notification channel is doing, over the operator API (viewer key).

``GET /api/v1/channels``: every channel of the rules with its kind, ``send_resolved``,
and its delivery state as delivery last stored it (``escalation.pausing``): ``ok``,
``failing`` (failures in a row, not yet paused) or ``paused`` (until when, since when,
the last error). Read from the store, so any replica answers for the one delivering.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.timestamps import format_rfc3339
from escalation.pausing import CHANNELS, ChannelState
from rules.api_keys import Role
from tocsin.keys import RULES, STORE
from tocsin.operator.auth import require

# A receiver's error is not Tocsin's text: kept short.
_ERROR_CHARS = 300


def add_channel_routes(router: web.UrlDispatcher) -> None:
    """Registers the channel status endpoint."""
    router.add_get("/api/v1/channels", get_channels)


async def get_channels(request: web.Request) -> web.Response:
    """Every channel and its delivery state."""
    require(request, Role.VIEWER)
    rules = request.app[RULES].current.rules
    names = list(rules.channels)
    stored = await request.app[STORE].consumer_documents(CHANNELS, names) if names else {}
    channels = [
        {
            "name": channel.name,
            "kind": channel.kind.value,
            "send_resolved": channel.send_resolved,
            **channel_view(ChannelState.from_document(stored.get(channel.name))),
        }
        for channel in rules.channels.values()
    ]
    return web.json_response({"channels": channels})


def channel_view(state: ChannelState) -> dict[str, Any]:
    """A channel's delivery state as the API shows it."""
    status = "paused" if state.paused else "failing" if state.failures else "ok"
    error = state.last_error
    return {
        "status": status,
        "failures": state.failures,
        "paused_until": None if state.paused_until is None else format_rfc3339(state.paused_until),
        "paused_since": None if state.paused_since is None else format_rfc3339(state.paused_since),
        "last_error": None if error is None else error[:_ERROR_CHARS],
    }
