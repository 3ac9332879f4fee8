"""The status page's background task in ``tocsin serve``: runs its writer, tells the site.

:func:`add_status_page` registers the status API and a cleanup context that runs
``statuspage.writer.StatusWriter`` (consumer group ``statuspage``): a step at once
whenever the last one did something, else every :data:`POLL_SECONDS`. With the Redis
store the group's lease lets one replica write at a time; the others' steps get
nothing until it stops or its lease runs out.

Listeners (``app[STATUS_LISTENERS]``, async callables given a ``Changes``) hear what
changed, on every replica: after each step the task follows the page's change log
(``tocsin.status_listeners.Follower``), so a replica whose writer does not hold the
lease hears the lease holder's changes within a poll. They also hear
``Changes(everything=True)`` once at start and whenever the page's local day changes
(every 90-day bar moves). The site (``tocsin.status_site``) appends its regeneration
there before the application starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import date

import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.errors import StoreError
from statuspage.writer import Changes, StatusWriter, local_day
from tocsin.keys import CLOCK, RULES, STATUS_LISTENERS, STATUS_WRITER, STORE
from tocsin.operator.status import add_status_routes
from tocsin.status_listeners import STATUS_FOLLOWER, Follower, tell_listeners

log = structlog.get_logger("tocsin.statuspage")

POLL_SECONDS = 1.0


def add_status_page(app: web.Application) -> None:
    """Registers the status API, the writer and its task; listeners are added to the app."""
    add_status_routes(app.router)
    app[STATUS_LISTENERS] = []
    app[STATUS_FOLLOWER] = Follower(app)
    # Unique per application: two in one process (tests) are two members too.
    member = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    app[STATUS_WRITER] = StatusWriter(
        app[STORE], lambda: app[RULES].current.rules, app[CLOCK], member
    )
    app.cleanup_ctx.append(status_page_context)


class StatusPageTask:
    """Steps the writer and tells the listeners; :meth:`tick` is one round (for tests)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._writer = app[STATUS_WRITER]
        self._day: date | None = None

    async def tick(self) -> Changes | None:
        """One step of the writer, then the listeners hear what changed since they last
        did (whoever wrote it); returns the step's changes (None: not this writer's)."""
        changes = await self._writer.step()
        await self._app[STATUS_FOLLOWER].catch_up()
        today = local_day(self._app[CLOCK].now(), self._app[RULES].current.rules)
        if today != self._day:
            self._day = today
            await tell_listeners(self._app, Changes(everything=True))
        return changes

    async def run(self) -> None:
        """Ticks until cancelled, at once after a busy step, else every POLL_SECONDS."""
        while True:
            try:
                busy = bool(await self.tick())
            except StoreError as exc:
                log.warning("status page: store error", error=str(exc))
                busy = False
            except Exception:  # a bug must not end the status page for the process's life
                log.exception("status page step failed")
                busy = False
            end_if_cancelled()
            if not busy:
                await asyncio.sleep(POLL_SECONDS)


async def status_page_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: runs the writer's task; on shutdown cancels it and frees the lease."""
    task = asyncio.create_task(StatusPageTask(app).run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with contextlib.suppress(StoreError):
        await app[STATUS_WRITER].release()
