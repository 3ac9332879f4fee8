"""Rules reload on SIGHUP and ``POST /-/reload``: all or nothing, old rules kept on error."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge

from core.clock import Clock
from core.errors import RuleError
from ingest.gate import SourceGate
from rules.loader import load_rules
from tocsin.state import RulesState, RulesVersion

log = structlog.get_logger("tocsin.reload")


class RulesReloader:
    """Loads the rules again and swaps them in only if they are valid."""

    def __init__(
        self,
        path: Path,
        state: RulesState,
        clock: Clock,
        registry: CollectorRegistry,
        env: Mapping[str, str],
    ) -> None:
        self._path = path
        self._state = state
        self._clock = clock
        self._env = env
        self._lock = asyncio.Lock()
        self.pending: asyncio.Task[RuleError | None] | None = None
        # Called after each successful reload, e.g. to pass it on to a child process.
        self.listeners: list[Callable[[], None]] = []
        self._successful = Gauge(
            "tocsin_config_last_reload_successful",
            "Whether the last rules reload succeeded (1) or failed (0).",
            registry=registry,
        )
        self._success_time = Gauge(
            "tocsin_config_last_reload_success_timestamp_seconds",
            "When the rules were last loaded successfully, in Unix seconds.",
            registry=registry,
        )
        self._successful.set(1)
        self._success_time.set(clock.now().timestamp())

    async def reload(self) -> RuleError | None:
        """Reloads the rules; returns the error if the new rules are invalid (old ones stay)."""
        async with self._lock:
            try:
                # Reading and validating files is blocking work; keep the event loop free.
                rules = await asyncio.to_thread(load_rules, self._path, self._env)
            except RuleError as exc:
                self._successful.set(0)
                log.error(
                    "rules reload failed; keeping the rules in force",
                    problems=[str(p) for p in exc.problems],
                )
                return exc
            now = self._clock.now()
            self._state.current = RulesVersion(rules, SourceGate(rules, now))
            self._successful.set(1)
            self._success_time.set(now.timestamp())
            log.info("rules reloaded", path=str(self._path), sources=len(rules.sources))
            for listener in self.listeners:
                listener()
            return None

    def reload_in_background(self) -> None:
        """Starts a reload from a signal handler; the task is kept in ``pending``."""
        self.pending = asyncio.get_running_loop().create_task(self.reload())

    async def handle_post(self, request: web.Request) -> web.Response:
        """``POST /-/reload``: 200 when the new rules are in force, 400 listing problems if not."""
        error = await self.reload()
        if error is None:
            return web.json_response({"status": "success"})
        body = {
            "status": "error",
            "code": 400,
            "error": "rules are invalid; the old rules stay in force",
            "problems": [
                {"file": p.file, "line": p.line, "key": p.key, "message": p.message}
                for p in error.problems
            ],
        }
        return web.json_response(body, status=400)

    async def sighup_context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context that reloads on SIGHUP while the application runs."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload_in_background)
        yield
        loop.remove_signal_handler(signal.SIGHUP)
        if self.pending is not None:
            await self.pending
