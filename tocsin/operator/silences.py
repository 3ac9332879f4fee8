"""Silences: create, list, get and expire, persisted in the store (Alertmanager's model)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from core.errors import Conflict, ItemProblem, MalformedInput, NotFound, UnsupportedMedia
from core.silence import LabelMatcher, Silence, SilenceState
from core.timestamps import parse_rfc3339
from rules.api_keys import Role
from rules.matchers import parse_matcher
from tocsin.keys import CLOCK, STORE
from tocsin.operator.auth import require
from tocsin.operator.render import silence_view

_KEYS = {"matchers", "starts_at", "ends_at", "comment", "created_by"}


def add_silence_routes(router: web.UrlDispatcher) -> None:
    """Registers the silence endpoints."""
    router.add_post("/api/v1/silences", create_silence)
    router.add_get("/api/v1/silences", list_silences)
    router.add_get("/api/v1/silences/{id}", get_silence)
    router.add_delete("/api/v1/silences/{id}", expire_silence)


async def create_silence(request: web.Request) -> web.Response:
    """Creates a silence from ``{matchers, starts_at?, ends_at, comment, created_by?}``; 201."""
    api_key = require(request, Role.RESPONDER)
    now = request.app[CLOCK].now()
    silence = _silence_from(await _json_object(request), now, default_creator=api_key.name)
    await request.app[STORE].save_silence(silence)
    return web.json_response(silence_view(silence, now), status=201)


async def list_silences(request: web.Request) -> web.Response:
    """Lists every silence, newest first, with its state now."""
    require(request, Role.VIEWER)
    now = request.app[CLOCK].now()
    silences = await request.app[STORE].list_silences()
    return web.json_response({"silences": [silence_view(s, now) for s in silences]})


async def get_silence(request: web.Request) -> web.Response:
    """Returns one silence."""
    require(request, Role.VIEWER)
    silence = await _find(request)
    return web.json_response(silence_view(silence, request.app[CLOCK].now()))


async def expire_silence(request: web.Request) -> web.Response:
    """Ends a silence now (a pending one never starts); an expired one is a 409."""
    require(request, Role.RESPONDER)
    now = request.app[CLOCK].now()
    silence = await _find(request)
    state = silence.state(now)
    if state is SilenceState.EXPIRED:
        raise Conflict(f"silence {silence.id} has already expired")
    expired = replace(silence, ends_at=now, starts_at=min(silence.starts_at, now))
    await request.app[STORE].save_silence(expired)
    return web.json_response(silence_view(expired, now))


async def _find(request: web.Request) -> Silence:
    silence_id = request.match_info["id"]
    silence = await request.app[STORE].get_silence(silence_id)
    if silence is None:
        raise NotFound(f"no silence {silence_id!r}")
    return silence


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise UnsupportedMedia(
            f"Content-Type must be application/json, not {request.content_type!r}"
        )
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise MalformedInput([ItemProblem(None, "", f"body is not valid JSON: {exc}")]) from exc
    if not isinstance(body, dict):
        raise MalformedInput([ItemProblem(None, "", "body must be a JSON object")])
    return body


def _silence_from(body: dict[str, Any], now: datetime, default_creator: str) -> Silence:
    problems: list[ItemProblem] = [
        ItemProblem(None, k, "unknown field") for k in sorted(body.keys() - _KEYS)
    ]
    matchers: list[LabelMatcher] = []
    raw_matchers = body.get("matchers")
    if not isinstance(raw_matchers, list) or not raw_matchers:
        problems.append(
            ItemProblem(None, "matchers", "a non-empty list like ['alertname=\"DiskFull\"']")
        )
    else:
        for index, text in enumerate(raw_matchers):
            try:
                if not isinstance(text, str):
                    raise ValueError("must be a string")
                parsed = parse_matcher(text)
            except ValueError as exc:
                problems.append(ItemProblem(None, f"matchers[{index}]", str(exc)))
                continue
            matchers.append(LabelMatcher(parsed.name, parsed.type.value, parsed.value))
        if matchers and all(m.op in {"=~", "!~", "!="} and _matches_empty(m) for m in matchers):
            # Alertmanager refuses silences that would match every alert.
            problems.append(
                ItemProblem(
                    None, "matchers", "at least one matcher must not match the empty string"
                )
            )
    starts_at = _instant(body, "starts_at", problems) or now
    ends_at = _instant(body, "ends_at", problems)
    if ends_at is None and not any(p.field == "ends_at" for p in problems):
        # Absent, null or Go's zero time: a silence needs an end.
        problems.append(ItemProblem(None, "ends_at", "is required"))
    elif ends_at is not None and ends_at <= starts_at:
        problems.append(ItemProblem(None, "ends_at", "must be after starts_at"))
    elif ends_at is not None and ends_at <= now:
        problems.append(ItemProblem(None, "ends_at", "must be in the future"))
    comment = body.get("comment")
    if not isinstance(comment, str) or not comment.strip():
        problems.append(ItemProblem(None, "comment", "is required: say why"))
    created_by = body.get("created_by", default_creator)
    if not isinstance(created_by, str) or not created_by.strip():
        problems.append(ItemProblem(None, "created_by", "must be a non-empty string"))
    if problems or ends_at is None or not isinstance(comment, str):
        raise MalformedInput(problems)
    return Silence(uuid.uuid4().hex, tuple(matchers), starts_at, ends_at, created_by, comment, now)


def _instant(body: dict[str, Any], name: str, problems: list[ItemProblem]) -> datetime | None:
    raw = body.get(name)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        return parse_rfc3339(raw)
    except ValueError as exc:
        problems.append(ItemProblem(None, name, f"invalid RFC 3339 timestamp: {exc}"))
        return None


def _matches_empty(matcher: LabelMatcher) -> bool:
    return parse_matcher(str(matcher)).matches({})
