"""The correlator as a child process of ``tocsin serve``: started, watched, restarted, stopped.

One Python process runs on one core. Ingest at full speed fills it, so a correlator in
the same event loop falls behind a storm; as a child process (``tocsin correlate``) it
has the second core. The child reads the same rules and store; its settings reach it as
``TOCSIN_*`` variables (never on the command line, where a store password would show).
It dies with its parent (PR_SET_PDEATHSIG), is restarted with a growing pause if it
exits on its own or stops making progress (a heartbeat: see ``CorrelatorProcess``),
gets SIGHUP whenever the parent's rules reload, and serves its metrics on a private
UNIX socket that the parent's ``/metrics`` includes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from core.clock import Clock
from core.settings import Settings, settings_to_env
from tocsin.correlator_health import ChildHealth, ChildState, RestartReason
from tocsin.wakeup import INCIDENTS_SOCKET, LOG_SOCKET, Wakeups

log = structlog.get_logger("tocsin.correlator_process")

# A child that ran this long before it died was healthy: restart it quickly again.
_HEALTHY_RUN_SECONDS = 60.0
_FIRST_RESTART_PAUSE = 1.0
_LONGEST_RESTART_PAUSE = 30.0
# A step in flight finishes its commit before the child exits; give it time.
_STOP_DEADLINE_SECONDS = 15.0
_METRICS_TIMEOUT = aiohttp.ClientTimeout(total=2.0)
# How often the parent reads the child's heartbeat (its metrics).
_POLL_SECONDS = 1.0


class CorrelatorProcess:
    """Supervises the ``tocsin correlate`` child of one ``tocsin serve``.

    Besides restarting a child that exits, it watches the child's heartbeat: every
    ``poll_seconds`` it reads the child's metrics over the socket, whose loop-tick
    counter moves every second while the child's event loop is responsive, however long
    its steps take (``tocsin.progress``). A child whose ticks (and last step) have not
    moved for ``--correlator-heartbeat-timeout-seconds`` (on the injected clock), or that
    no longer answers, is hung: it is killed and started again. A child that is live but
    behind is never killed: its lag shows it (``ChildState.CATCHING_UP``). The last
    metrics read stay on the parent's ``/metrics`` while the child is down or hung, so
    ``tocsin_correlator_lag_seconds`` never vanishes.
    """

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        env: Mapping[str, str],
        clock: Clock,
        *,
        poll_seconds: float = _POLL_SECONDS,
        wakeups: Wakeups | None = None,
    ) -> None:
        """``wakeups``: the parent's doorbells, linked to the child's (tocsin.wakeup)."""
        self._settings = settings
        self._wakeups = wakeups
        # The parent's environment (where the rules' secrets come from), and its settings.
        self._env = {**env, **settings_to_env(settings)}
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._process: asyncio.subprocess.Process | None = None
        self._socket: Path | None = None
        self._stopping = asyncio.Event()
        self.health = ChildHealth(timedelta(seconds=settings.correlator_heartbeat_timeout_seconds))
        # The child's metrics as last read; served while it cannot answer.
        self._last_metrics = b""
        self._answering = False
        self._up = Gauge(
            "tocsin_correlator_process_up",
            "Whether the correlator child process is running and making progress (1) or not (0).",
            registry=registry,
        )
        self._restarts = Counter(
            "tocsin_correlator_process_restarts_total",
            "Times the correlator child process was started again, by reason: it exited "
            "(or was killed) on its own, or it made no progress and the parent killed it.",
            ["reason"],
            registry=registry,
        )
        for reason in RestartReason:
            self._restarts.labels(reason.value)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """Cleanup context: runs the child while the application runs, then stops it."""
        with tempfile.TemporaryDirectory(prefix="tocsin-correlator-") as private:
            # mkdtemp makes the directory 0700: only this user can reach the socket.
            self._socket = Path(private) / "metrics.sock"
            wakeups = self._wakeups
            if wakeups is not None:
                # Ingest rings the child; the child's commits ring the paging stages here.
                wakeups.log.peer = Path(private) / LOG_SOCKET
                wakeups.incidents.listen(Path(private) / INCIDENTS_SOCKET)
            supervisor = asyncio.create_task(self._supervise(), name="tocsin-correlator-process")
            yield
            self._stopping.set()
            await supervisor
            self._socket = None
            if wakeups is not None:
                wakeups.log.peer = None
                wakeups.incidents.close()

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def reload(self) -> None:
        """Tells the child to reload its rules, as the parent just did."""
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGHUP)

    async def metrics_text(self) -> bytes:
        """Returns the child's metrics in the text format: fresh if it answers, else as last read.

        Empty only before the first child ever answered.
        """
        if self._answering:
            await self._read_metrics()
        return self._last_metrics

    async def _read_metrics(self) -> None:
        """Reads and keeps the child's metrics, noting its progress (or that it did not answer)."""
        process, socket = self._process, self._socket
        if process is None or process.returncode is not None or socket is None:
            self._answering = False
            return
        try:
            connector = aiohttp.UnixConnector(path=str(socket))
            async with (
                aiohttp.ClientSession(connector=connector, timeout=_METRICS_TIMEOUT) as session,
                session.get("http://correlator/metrics") as response,
            ):
                response.raise_for_status()
                text = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # Starting up, restarting, or hung: the last metrics read stay on /metrics.
            log.debug("correlator metrics unavailable", error=str(exc))
            self._answering = False
            return
        self._answering = True
        self._last_metrics = text
        self.health.saw_metrics(text, self._clock.now())

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
            self.health.started(process.pid, self._clock.now())
            self._up.set(1)
            log.info("correlator process started", pid=process.pid)
            reason = await self._watch(process)
            self._answering = False
            if reason is None:
                await self._terminate(process)
                self._up.set(0)
                self.health.state = ChildState.STOPPED
                return
            if reason is RestartReason.HUNG:
                log.error(
                    "correlator process's event loop stopped ticking; killing it",
                    pid=process.pid,
                    timeout_seconds=self.health.timeout.total_seconds(),
                    last_progress_at=str(self.health.last_progress_at),
                )
                await self._kill(process)
            self._up.set(0)
            self.health.restarted(reason, self._clock.now())
            self._restarts.labels(reason.value).inc()
            if loop.time() - started >= _HEALTHY_RUN_SECONDS:
                pause = _FIRST_RESTART_PAUSE
            log.error(
                "correlator process is gone; restarting",
                reason=reason.value,
                code=process.returncode,
                pause_seconds=pause,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            pause = min(pause * 2, _LONGEST_RESTART_PAUSE)

    async def _watch(self, process: asyncio.subprocess.Process) -> RestartReason | None:
        """Waits until the child exits or hangs (the reason), or the server stops (None)."""
        exited = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while True:
                await asyncio.wait(
                    {exited, stopping},
                    timeout=self._poll_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stopping.done():
                    return None
                if exited.done():
                    return RestartReason.EXITED
                await self._read_metrics()
                if self.health.is_hung(self._clock.now()):
                    return RestartReason.HUNG
        finally:
            stopping.cancel()
            exited.cancel()

    @staticmethod
    async def _kill(process: asyncio.subprocess.Process) -> None:
        # SIGKILL: a stopped process, or one spinning in C code, handles no other signal.
        # Its step in flight is lost whole (commits are atomic) and done again.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()

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
