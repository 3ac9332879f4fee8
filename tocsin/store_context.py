"""The store's lifetime within an application: opened at start-up, closed at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from tocsin.keys import STORE

log = structlog.get_logger("tocsin.store")


async def store_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: opens the store, and closes it after in-flight writes commit."""
    store = app[STORE]
    await store.open()
    log.info("store opened", backend=type(store).__name__)
    yield
    await store.close()
