"""Silences: create, list, get and expire, persisted in the store (Alertmanager's model).

The rules files' silences are listed too, read-only (see ``rules_silences``). Limits
keep one client from filling the store or the correlator: ``--max-silences`` stored
(expired ones count until their retention ends, as in Alertmanager) and
``--max-silence-bytes`` each, the body bounded before it is parsed.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from core.errors import Conflict, NotFound
from core.silence import Silence, SilenceState
from core.timestamps import format_rfc3339
from rules.api_keys import Role
from tocsin.keys import CLOCK, RULES, SETTINGS, STORE
from tocsin.operator.auth import require
from tocsin.operator.render import silence_view
from tocsin.operator.rules_silences import (
    RULES_ID_PREFIX,
    find_rules_silence,
    rules_silence_views,
)
from tocsin.operator.silence_input import (
    body_limit,
    check_silence_size,
    read_json_object,
    silence_from,
)


def add_silence_routes(router: web.UrlDispatcher) -> None:
    """Registers the silence endpoints."""
    router.add_post("/api/v1/silences", create_silence)
    router.add_get("/api/v1/silences", list_silences)
    router.add_get("/api/v1/silences/{id}", get_silence)
    router.add_delete("/api/v1/silences/{id}", expire_silence)


async def create_silence(request: web.Request) -> web.Response:
    """Creates a silence from ``{matchers, starts_at?, ends_at, comment, created_by?}``; 201."""
    api_key = require(request, Role.RESPONDER)
    settings = request.app[SETTINGS]
    now = request.app[CLOCK].now()
    body = await read_json_object(
        request, body_limit(settings.max_silence_bytes, settings.max_body_bytes)
    )
    silence = silence_from(body, now, default_creator=api_key.name)
    check_silence_size(silence, settings.max_silence_bytes)
    store = request.app[STORE]
    # Checked, not reserved: concurrent creations may pass it together by a few.
    if settings.max_silences > 0 and await store.count_silences() >= settings.max_silences:
        raise Conflict(
            f"{settings.max_silences} silences are stored, the most --max-silences allows; "
            "expire some (expired ones count until --silence-retention deletes them)",
            field="max_silences",
        )
    await store.save_silence(silence)
    return web.json_response(silence_view(silence, now), status=201)


async def list_silences(request: web.Request) -> web.Response:
    """Lists operators' silences, newest first, then the rules' own; each with its state now."""
    require(request, Role.VIEWER)
    now = request.app[CLOCK].now()
    silences = await request.app[STORE].list_silences()
    from_rules = rules_silence_views(request.app[RULES].current.rules.silences, now)
    return web.json_response({"silences": [silence_view(s, now) for s in silences] + from_rules})


async def get_silence(request: web.Request) -> web.Response:
    """Returns one silence, an operator's or the rules'."""
    require(request, Role.VIEWER)
    now = request.app[CLOCK].now()
    silence_id = request.match_info["id"]
    if silence_id.startswith(RULES_ID_PREFIX):
        view = find_rules_silence(request.app[RULES].current.rules.silences, silence_id, now)
        if view is None:
            raise NotFound(f"no silence {silence_id!r} in the rules in force")
        return web.json_response(view)
    return web.json_response(silence_view(await _find(request, silence_id), now))


async def expire_silence(request: web.Request) -> web.Response:
    """Ends a silence now (a pending one never starts); an expired one is a 409."""
    require(request, Role.RESPONDER)
    now = request.app[CLOCK].now()
    silence_id = request.match_info["id"]
    if silence_id.startswith(RULES_ID_PREFIX):
        raise Conflict(
            f"silence {silence_id!r} lives in the rules files: remove it there and reload",
            field="id",
        )
    silence = await _find(request, silence_id)
    state = silence.state(now)
    if state is SilenceState.EXPIRED:
        ended = format_rfc3339(silence.ends_at)
        raise Conflict(f"silence {silence.id} has already expired at {ended}", field="ends_at")
    expired = replace(silence, ends_at=now, starts_at=min(silence.starts_at, now))
    await request.app[STORE].save_silence(expired)
    return web.json_response(silence_view(expired, now))


async def _find(request: web.Request, silence_id: str) -> Silence:
    silence = await request.app[STORE].get_silence(silence_id)
    if silence is None:
        raise NotFound(f"no silence {silence_id!r}")
    return silence
