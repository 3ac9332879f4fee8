"""What every Tocsin application holds: settings, clock, registry, rules and the store.

``tocsin serve`` (tocsin/app.py) and ``tocsin correlate`` (tocsin/correlator_app.py)
both start from :func:`install_foundation`, then add their own routes and tasks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from core.clock import Clock
from core.settings import Settings
from core.store.factory import store_from_url
from ingest.gate import SourceGate
from rules.loader import load_rules
from tocsin.keys import CLOCK, REGISTRY, RULES, SETTINGS, STORE, WRITE_HEALTH
from tocsin.state import RulesState, RulesVersion
from tocsin.write_health import WriteHealth, WriteWatchingStore

log = structlog.get_logger("tocsin.store")


def install_foundation(
    app: web.Application,
    settings: Settings,
    clock: Clock,
    registry: CollectorRegistry,
    env: Mapping[str, str],
) -> RulesState:
    """Loads the rules and sets the shared state on ``app``; the store opens with the app.

    Raises RuleError at once if the rules are invalid.
    """
    rules = load_rules(settings.rules, env)
    rules_state = RulesState(RulesVersion(rules, SourceGate(rules, clock.now())))
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[REGISTRY] = registry
    app[RULES] = rules_state
    # Every write's outcome is seen, so that /-/ready can tell a store that cannot write.
    write_health = WriteHealth(clock)
    app[WRITE_HEALTH] = write_health
    store = store_from_url(settings.store, sqlite_synchronous=settings.sqlite_synchronous)
    app[STORE] = WriteWatchingStore(store, write_health)
    app.cleanup_ctx.append(store_context)
    return rules_state


async def store_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: opens the store, and closes it after in-flight writes commit."""
    store = app[STORE]
    await store.open()
    log.info("store opened", backend=app[SETTINGS].store.partition(":")[0])
    yield
    await store.close()
