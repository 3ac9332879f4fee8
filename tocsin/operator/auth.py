"""Operator authentication: an API key from the rules, compared in constant time.

The key comes as a bearer token, or as the password of basic auth (the user name is not
checked): the tools of Alertmanager's API (amtool, Grafana, Karma) can send either.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import Forbidden, Unauthenticated
from rules.api_keys import ApiKey, Role
from rules.credentials import first_accepted
from tocsin.keys import RULES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RoleTooLow(Forbidden):
    """A valid API key whose role does not include the one the request needs (403).

    The JSON error body names the header at fault (``field``), the key's ``role`` and the
    ``required_role``, so a client can say which key it needs.
    """

    def __init__(self, key: ApiKey, required: Role) -> None:
        super().__init__(
            f"API key {key.name!r} has role {key.role}; this needs {required}",
            field="Authorization",
        )
        self.role = key.role
        self.required_role = required

    def details(self) -> dict[str, object]:
        """The field at fault, the key's role and the role the request needs."""
        return {**super().details(), "role": self.role, "required_role": self.required_role}


def admin_only(handler: Handler) -> Handler:
    """Wraps a handler so that only an admin API key may call it (e.g. ``POST /-/reload``)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        require(request, Role.ADMIN)
        return await handler(request)

    return guarded


def require(request: web.Request, role: Role) -> ApiKey:
    """Returns the request's API key if it has at least ``role``; raises 401 or 403."""
    key = _given_key(request.headers.get("Authorization", ""))
    found = first_accepted(request.app[RULES].current.rules.api_keys, lambda k: k.key.matches(key))
    if found is None:
        raise Unauthenticated("API key not accepted", field="Authorization")
    if not found.role.allows(role):
        raise RoleTooLow(found, role)
    return found


def authenticated(request: web.Request) -> bool:
    """Tells whether the request carries an accepted API key, whatever its role."""
    try:
        key = _given_key(request.headers.get("Authorization", ""))
    except Unauthenticated:
        return False
    keys = request.app[RULES].current.rules.api_keys
    return first_accepted(keys, lambda k: k.key.matches(key)) is not None


def _given_key(header: str) -> str:
    """The API key an ``Authorization`` header carries: a bearer token or a basic password."""
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() == "bearer" and given:
        return given
    if scheme.lower() == "basic" and given:
        try:
            decoded = base64.b64decode(given, validate=True).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            # ValueError: binascii's, or b64decode's own for text that is not ASCII.
            raise Unauthenticated(
                "basic credentials that are not base64 of user:key", field="Authorization"
            ) from exc
        _user, colon, password = decoded.partition(":")
        if colon and password:
            return password
    raise Unauthenticated(
        "missing Authorization: Bearer <API key>, or basic auth with the key",
        field="Authorization",
    )
