"""Operator authentication: a bearer API key from the rules, compared in constant time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import Forbidden, Unauthenticated
from rules.api_keys import ApiKey, Role
from rules.credentials import first_accepted
from tocsin.keys import RULES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_only(handler: Handler) -> Handler:
    """Wraps a handler so that only an admin API key may call it (e.g. ``POST /-/reload``)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        require(request, Role.ADMIN)
        return await handler(request)

    return guarded


def require(request: web.Request, role: Role) -> ApiKey:
    """Returns the request's API key if it has at least ``role``; raises 401 or 403."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthenticated("missing Authorization: Bearer <API key>")
    key = given.strip()
    found = first_accepted(request.app[RULES].current.rules.api_keys, lambda k: k.key.matches(key))
    if found is None:
        raise Unauthenticated("API key not accepted")
    if not found.role.allows(role):
        raise Forbidden(f"API key {found.name!r} has role {found.role}; this needs {role}")
    return found
