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
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from core.clock import Clock, SystemClock
from core.settings import Settings
from tocsin import health
from tocsin.correlation import correlator_context
from tocsin.keys import RELOADER, WAKEUPS
from tocsin.parent import exit_promptly_on_sigterm
from tocsin.reload import RulesReloader
from tocsin.wakeup import INCIDENTS_SOCKET, LOG_SOCKET, Doorbell, Wakeups
from tocsin.wiring import install_foundation


def create_correlator_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    registry: CollectorRegistry | None = None,
    env: Mapping[str, str] | None = None,
    wake_dir: Path | None = None,
) -> web.Application:
    """Builds the correlator-only application; raises RuleError if the rules are invalid.

    ``wake_dir``: a ``tocsin serve`` parent's private directory, where this process and
    its parent ring each other (tocsin.wakeup); None for a correlator on its own.
    """
    clock = clock or SystemClock()
    registry = registry or CollectorRegistry()
    environment = os.environ if env is None else env
    app = web.Application()
    rules_state = install_foundation(app, settings, clock, registry, environment)
    if wake_dir is not None:
        app[WAKEUPS] = Wakeups(incidents=Doorbell(peer=wake_dir / INCIDENTS_SOCKET))
        app.cleanup_ctx.append(_listening(wake_dir / LOG_SOCKET))
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


def _listening(path: Path) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context in which the parent's ingest can ring the log doorbell at ``path``."""

    async def listening(app: web.Application) -> AsyncIterator[None]:
        bell = app[WAKEUPS].log
        bell.listen(path)
        yield
        bell.close()

    return listening


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
