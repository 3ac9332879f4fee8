"""Silences through Alertmanager's API v2, on the same store as ``/api/v1/silences``.

Same checks, limits and roles as the operator API (viewer reads, responder writes);
Alertmanager's status codes and shapes. ``POST`` with an ``id`` updates that silence as
Alertmanager does (``silence_codec.can_update``): in place if only its end or comment
changed, else the old one expires and the silence is created anew with a new id. A new
silence that would start in the past starts now. The rules files' silences are listed
read-only, with ``rules:`` ids.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import orjson
from aiohttp import web

from core.errors import Conflict, FieldProblem, InvalidFields, NotFound
from core.silence import Silence, SilenceState
from core.store import Store
from rules.api_keys import Role
from tocsin.amapi.errors import add_get, am_errors
from tocsin.amapi.filters import parse_matchers
from tocsin.amapi.silence_codec import (
    can_update,
    gettable,
    gettable_rules,
    matches_filter,
    postable,
    sort_silences,
)
from tocsin.keys import CLOCK, RULES, SETTINGS, STORE
from tocsin.operator.auth import require
from tocsin.operator.rules_silences import RULES_ID_PREFIX
from tocsin.operator.silence_input import body_limit, check_silence_size, read_json_object


def add_silence_routes(router: web.UrlDispatcher) -> None:
    """Registers the v2 silence endpoints."""
    add_get(router, "/api/v2/silences", list_silences)
    router.add_post("/api/v2/silences", am_errors(post_silence))
    add_get(router, "/api/v2/silence/{id}", get_silence)
    router.add_delete("/api/v2/silence/{id}", am_errors(delete_silence))


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_UTC_Z),
        status=status,
        content_type="application/json",
    )


async def list_silences(request: web.Request) -> web.Response:
    """Every silence, operators' and the rules', in Alertmanager's order; ``?filter=``."""
    require(request, Role.VIEWER)
    problems: list[FieldProblem] = []
    filters = parse_matchers(request.query.getall("filter", []), problems)
    if problems:
        raise InvalidFields(problems)
    now = request.app[CLOCK].now()
    views = [gettable(s, now) for s in await request.app[STORE].list_silences()]
    views += gettable_rules(request.app[RULES].current.rules.silences, now)
    shown = [v for v in views if matches_filter(v, filters)]
    sort_silences(shown)
    return _json(shown)


async def get_silence(request: web.Request) -> web.Response:
    """One silence by id (an operator's, or a rules silence's ``rules:`` id); else 404."""
    require(request, Role.VIEWER)
    now = request.app[CLOCK].now()
    silence_id = request.match_info["id"]
    if silence_id.startswith(RULES_ID_PREFIX):
        views = gettable_rules(request.app[RULES].current.rules.silences, now)
        found = next((v for v in views if v["id"] == silence_id), None)
        if found is None:
            raise NotFound(f"no silence {silence_id!r} in the rules in force")
        return _json(found)
    return _json(gettable(await _find(request.app[STORE], silence_id), now))


async def delete_silence(request: web.Request) -> web.Response:
    """Expires a silence now; 404 if there is none, 409 if it is the rules'.

    Expiring an expired silence is a 200 that changes nothing, as in Alertmanager: a
    script that expires a list of silences twice, or two people at once, sees success.
    """
    require(request, Role.RESPONDER)
    now = request.app[CLOCK].now()
    silence_id = request.match_info["id"]
    if silence_id.startswith(RULES_ID_PREFIX):
        raise Conflict(f"silence {silence_id!r} lives in the rules files: edit them and reload")
    store = request.app[STORE]
    silence = await _find(store, silence_id)
    if silence.state(now) is not SilenceState.EXPIRED:
        await store.save_silence(expired(silence, now))
    return web.Response(status=200)


async def post_silence(request: web.Request) -> web.Response:
    """Creates a silence, or updates the one its ``id`` names; answers ``{"silenceID"}``."""
    api_key = require(request, Role.RESPONDER)
    settings = request.app[SETTINGS]
    store = request.app[STORE]
    now = request.app[CLOCK].now()
    body = await read_json_object(
        request, body_limit(settings.max_silence_bytes, settings.max_body_bytes)
    )
    given = body.get("id")
    if given is not None and not isinstance(given, str):
        raise InvalidFields([FieldProblem("id", "must be a string")])
    silence = postable(body, now, default_creator=api_key.name)
    check_silence_size(silence, settings.max_silence_bytes)
    old = None
    if given:
        if given.startswith(RULES_ID_PREFIX):
            raise InvalidFields(
                [FieldProblem("id", "is a rules silence: edit the rules files and reload")]
            )
        old = await _find(store, given)
        if can_update(old, silence, now):
            # An active silence keeps its start: the request's equals it to the second.
            start = old.starts_at if old.state(now) is SilenceState.ACTIVE else silence.starts_at
            kept = replace(silence, id=old.id, starts_at=start, created_at=old.created_at)
            await store.save_silence(kept)
            return _json({"silenceID": old.id})
    # A new silence, or one replacing ``old``: within the limit before the old one ends.
    if settings.max_silences > 0 and await store.count_silences() >= settings.max_silences:
        raise Conflict(
            f"{settings.max_silences} silences are stored, the most --max-silences allows",
            field="max_silences",
        )
    if old is not None and old.state(now) is not SilenceState.EXPIRED:
        await store.save_silence(expired(old, now))
    created = replace(silence, starts_at=max(silence.starts_at, now))
    await store.save_silence(created)
    return _json({"silenceID": created.id})


def expired(silence: Silence, now: datetime) -> Silence:
    """The silence ended at ``now`` (a pending one never starts), as v1's expiry does."""
    return replace(silence, ends_at=now, starts_at=min(silence.starts_at, now))


async def _find(store: Store, silence_id: str) -> Silence:
    """The stored silence with this id, given as stored or as a UUID with dashes; else 404."""
    found = await store.get_silence(silence_id)
    if found is None:
        try:
            found = await store.get_silence(uuid.UUID(silence_id).hex)
        except ValueError:
            found = None
    if found is None:
        raise NotFound(f"silence {silence_id} not found")
    return found
