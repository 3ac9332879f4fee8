"""Telling the status page's listeners (the site builder) what the writer changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from statuspage.writer import Changes
from tocsin.keys import STATUS_LISTENERS

log = structlog.get_logger("tocsin.statuspage")

Listener = Callable[[Changes], Awaitable[None]]


async def tell_listeners(app: web.Application, changes: Changes) -> None:
    """Gives ``changes`` to each listener of ``app``; one that fails is logged, not raised.

    Whoever steps the writer calls this: the status page task after its own steps, and
    the status API after the step that applied an operator's command (else the page
    would learn of it only at the next alert-driven change).
    """
    listeners: list[Listener] = app.get(STATUS_LISTENERS, [])
    for listener in tuple(listeners):
        try:
            await listener(changes)
        except Exception:  # a failing site build must not stop the writer
            log.exception("status page listener failed")
