"""Telling the status page's listeners (the site builder) what the writer changed.

Every replica follows the page's change log (``statuspage.changelog``), not only the
one whose writer holds the lease: :class:`Follower` reads the generation the writer
last committed and tells the listeners what changed since the generation this
application last told them of. The status page task catches up after each of its
steps (about once a second), the status API right after applying an operator's write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from statuspage.changelog import changes_since
from statuspage.writer import Changes
from tocsin.keys import STATUS_LISTENERS, STORE

log = structlog.get_logger("tocsin.statuspage")

Listener = Callable[[Changes], Awaitable[None]]


async def tell_listeners(app: web.Application, changes: Changes) -> None:
    """Gives ``changes`` to each listener of ``app``; one that fails is logged, not raised."""
    listeners: list[Listener] = app.get(STATUS_LISTENERS, [])
    for listener in tuple(listeners):
        try:
            await listener(changes)
        except Exception:  # a failing site build must not stop the writer
            log.exception("status page listener failed")


class Follower:
    """Tells an application's listeners each generation of the page once, in order."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.seen: int | None = None
        # The task and the API both catch up: one at a time, so none is told twice.
        self._lock = asyncio.Lock()

    async def catch_up(self) -> Changes:
        """Tells the listeners what changed since the last catch-up; returns it."""
        async with self._lock:
            generation, changes = await changes_since(self._app[STORE], self.seen)
            if changes:
                await tell_listeners(self._app, changes)
            self.seen = generation
            return changes


STATUS_FOLLOWER = web.AppKey("status_follower", Follower)
