"""``tocsin correlate``: the correlator as a process of its own, with metrics and health.

``tocsin serve`` starts one as its child (``--correlator-mode process``, the default), so
that ingest and correlation each get a CPU core; on Redis it can also run on its own, as
one more member of the correlator group. It serves ``/metrics``, ``/-/healthy`` and
``/-/ready`` on a TCP port, or on a UNIX socket that the parent reads its metrics from.
It reloads the rules on SIGHUP and, like serve, keeps the old rules if the new ones are
invalid.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import AsyncIterator, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry

from core.clock import Clock, SystemClock
from core.settings import Settings
from tocsin import health
from tocsin.correlation import correlator_context
from tocsin.keys import RELOADER
from tocsin.parent import exit_promptly_on_sigterm
from tocsin.reload import RulesReloader
from tocsin.wiring import install_foundation


def create_correlator_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    env: Mapping[str, str] | None = None,
) -> web.Application:
    """Builds the correlator-only application; raises RuleError if the rules are invalid."""
    clock = clock or SystemClock()
    registry = registry or CollectorRegistry()
    environment = os.environ if env is None else env
    app = web.Application()
    rules_state = install_foundation(app, settings, clock, registry, environment)
    app.cleanup_ctx.append(correlator_context)
    health.add_routes(app.router)
    # The reload gauges stay in a registry of their own: the parent, whose /metrics
    # includes this process's metrics, exports the same names for its own reloads.
    reloader = RulesReloader(settings.rules, rules_state, clock, CollectorRegistry(), environment)
    app[RELOADER] = reloader
    app.cleanup_ctx.append(reloader.sighup_context)
    app.cleanup_ctx.append(_accept_sighup)
    # First, before the store opens or the correlator starts: a SIGTERM (its parent's
    # stop or death) ends this process within a second from now on (tocsin.parent).
    app.cleanup_ctx.insert(0, _bounded_stop)
    return app


async def _bounded_stop(app: web.Application) -> AsyncIterator[None]:
    # The application runs under web.run_app, whose SIGTERM handler is set by now.
    if threading.current_thread() is threading.main_thread():
        exit_promptly_on_sigterm()
    yield


async def _accept_sighup(app: web.Application) -> AsyncIterator[None]:
    # Started by `tocsin serve`, this process begins with SIGHUP blocked (see
    # tocsin/correlator_process.py); now that the reload handler is set, let it in.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})
    yield
