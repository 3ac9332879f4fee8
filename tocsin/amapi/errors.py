"""Errors as Alertmanager's API answers them: the status, and a JSON string saying why.

Alertmanager's OpenAPI document gives its 4xx and 5xx bodies as ``type: string``; its
clients print that string. Tocsin's errors keep their status (a 409 stays a 409) and,
for a 400 naming fields, the fields in the text. Store failures go on to the common
middleware (503, retry).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from core.errors import InputError, InvalidFields

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def am_errors(handler: Handler) -> Handler:
    """Wraps a handler so that its input errors answer as Alertmanager's do."""

    async def answering(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except InputError as exc:
            headers = {"WWW-Authenticate": 'Basic realm="tocsin"'} if exc.status == 401 else {}
            return web.json_response(message(exc), status=exc.status, headers=headers)

    return answering


def add_get(router: web.UrlDispatcher, path: str, handler: Handler) -> None:
    """Registers a GET of the API: errors as Alertmanager's, and no HEAD (Alertmanager: 405).

    aiohttp would answer HEAD through the GET handler, rendering a whole answer for
    nothing.
    """
    router.add_get(path, am_errors(handler), allow_head=False)


def message(exc: InputError) -> str:
    """The text of an error answer: the reason, and each field at fault."""
    if isinstance(exc, InvalidFields):
        return "; ".join(f"{p.field}: {p.reason}" for p in exc.problems)
    text = str(exc)
    return f"{text} ({exc.field})" if exc.field else text
