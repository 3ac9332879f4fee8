"""The correlator as a child process of ``tocsin serve``: started, watched, restarted, stopped.

One Python process runs on one core. Ingest at full speed fills it, so a correlator in
the same event loop falls behind a storm; as a child process (``tocsin correlate``) it
has the second core. The child reads the same rules and store; its settings reach it as
``TOCSIN_*`` variables (never on the command line, where a store password would show).
It dies with its parent (PR_SET_PDEATHSIG), is restarted with a growing pause if it
exits on its own, gets SIGHUP whenever the parent's rules reload, and serves its metrics
on a private UNIX socket that the parent's ``/metrics`` includes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from core.settings import Settings, settings_to_env

log = structlog.get_logger("tocsin.correlator_process")

# A child that ran this long before it died was healthy: restart it quickly again.
_HEALTHY_RUN_SECONDS = 60.0
_FIRST_RESTART_PAUSE = 1.0
_LONGEST_RESTART_PAUSE = 30.0
# A step in flight finishes its commit before the child exits; give it time.
_STOP_DEADLINE_SECONDS = 15.0
_METRICS_TIMEOUT = aiohttp.ClientTimeout(total=2.0)


class CorrelatorProcess:
    """Supervises the ``tocsin correlate`` child of one ``tocsin serve``."""

    def __init__(
        self, settings: Settings, registry: CollectorRegistry, env: Mapping[str, str]
    ) -> None:
        self._settings = settings
        # The parent's environment (where the rules' secrets come from), and its settings.
        self._env = {**env, **settings_to_env(settings)}
        self._process: asyncio.subprocess.Process | None = None
        self._socket: Path | None = None
        self._stopping = asyncio.Event()
        self._up = Gauge(
            "tocsin_correlator_process_up",
            "Whether the correlator child process is running (1) or not (0).",
            registry=registry,
        )
        self._restarts = Counter(
            "tocsin_correlator_process_restarts_total",
            "Times the correlator child process exited on its own and was started again.",
            registry=registry,
        )

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: runs the child while the application runs, then stops it."""
        with tempfile.TemporaryDirectory(prefix="tocsin-correlator-") as private:
            # mkdtemp makes the directory 0700: only this user can reach the socket.
            self._socket = Path(private) / "metrics.sock"
            supervisor = asyncio.create_task(self._supervise(), name="tocsin-correlator-process")
            yield
            self._stopping.set()
            await supervisor
            self._socket = None

    def reload(self) -> None:
        """Tells the child to reload its rules, as the parent just did."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGHUP)

    async def metrics_text(self) -> bytes:
        """Returns the child's metrics in the text format; empty if it cannot be reached."""
        process, socket = self._process, self._socket
        if process is None or process.returncode is not None or socket is None:
            return b""
        try:
            connector = aiohttp.UnixConnector(path=str(socket))
            async with (
                aiohttp.ClientSession(connector=connector, timeout=_METRICS_TIMEOUT) as session,
                session.get("http://correlator/metrics") as response,
            ):
                response.raise_for_status()
                return await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # Starting up, or restarting: the parent's own metrics still answer.
            log.debug("correlator metrics unavailable", error=str(exc))
            return b""

    def _command(self) -> list[str]:
        assert self._socket is not None
        return [
            sys.executable,
            "-m",
            "tocsin.cli",
            "correlate",
            "--metrics-socket",
            str(self._socket),
            "--parent-pid",
            str(os.getpid()),
        ]

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        pause = _FIRST_RESTART_PAUSE
        while not self._stopping.is_set():
            started = loop.time()
            process = await _spawn_with_sighup_blocked(self._command(), self._env)
            self._process = process
            self._up.set(1)
            log.info("correlator process started", pid=process.pid)
            exited = asyncio.ensure_future(process.wait())
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if self._stopping.is_set():
                await self._terminate(process)
                self._up.set(0)
                return
            code = exited.result()
            self._up.set(0)
            if loop.time() - started >= _HEALTHY_RUN_SECONDS:
                pause = _FIRST_RESTART_PAUSE
            log.error("correlator process exited; restarting", code=code, pause_seconds=pause)
            self._restarts.inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            pause = min(pause * 2, _LONGEST_RESTART_PAUSE)

    @staticmethod
    async def _terminate(process: asyncio.subprocess.Process) -> None:
        if process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_DEADLINE_SECONDS)
        except TimeoutError:
            log.error("correlator process did not stop in time; killing it", pid=process.pid)
            process.kill()
            await process.wait()


async def _spawn_with_sighup_blocked(
    command: list[str], env: Mapping[str, str]
) -> asyncio.subprocess.Process:
    """Starts the child with SIGHUP blocked; it unblocks once its reload handler is set.

    A reload may come while the child is still starting. Unblocked, SIGHUP's default
    action would kill it; blocked (the mask is inherited across fork and exec), the
    signal waits as pending and reaches the handler, so no reload is lost either.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        # A session of its own: Ctrl-C at a terminal reaches the parent only, which then
        # stops the child itself, rather than the child exiting first and the parent
        # taking that for a crash.
        return await asyncio.create_subprocess_exec(*command, env=env, start_new_session=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
