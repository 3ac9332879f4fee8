"""Real processes for integration tests: ``tocsin serve`` itself and the peers around it.

Everything a process writes (data, logs) goes to a directory the test gives, never into
the repository. Each process's output is captured to a log file whose tail is quoted in
every failure message, so a failed start or a crash explains itself.
"""

from __future__ import annotations

import base64
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from core.model import Alert
from core.store.factory import store_from_url
from tests.support import free_port, poll_until

# ``start_tocsin(store=None, *extra_args)`` and ``start_peer(name, argv, ready_url)``,
# the factories that the integration fixtures hand to tests.
StartTocsin = Callable[..., Awaitable["TocsinProcess"]]
StartPeer = Callable[[str, Sequence[str], str], Awaitable["OutsideProcess"]]

# Tocsin imports in under a second; a loaded CI machine replaying a WAL takes longer.
START_DEADLINE_SECONDS = 30.0
STOP_DEADLINE_SECONDS = 10.0
_PROBE_TIMEOUT = aiohttp.ClientTimeout(total=2.0)

# The test rules' credentials. Secrets reach Tocsin through these environment variables,
# as they would in production; the values are what the senders present.
AM_TOKEN = "itest-am-token"
PROM_USER = "prometheus"
PROM_PASSWORD = "itest-prom-password"
HOOK_TOKEN = "itest-hook-token"
PD_ROUTING_KEY = "0123456789abcdef0123456789abcdef"
CREDENTIALS_ENV = {
    "ITEST_AM_TOKEN": AM_TOKEN,
    "ITEST_PROM_PASSWORD": PROM_PASSWORD,
    "ITEST_HOOK_TOKEN": HOOK_TOKEN,
    "ITEST_PD_ROUTING_KEY": PD_ROUTING_KEY,
}

# Source names in the test rules, as they appear in metrics and in stored alerts.
AM_SOURCE = "alertmanager"
PROM_SOURCE = "prometheus"
HOOK_SOURCE = "scripts"
PD_SOURCE = "pagerduty-compat"

AM_AUTH = {"Authorization": f"Bearer {AM_TOKEN}"}
PROM_AUTH = {
    "Authorization": "Basic " + base64.b64encode(f"{PROM_USER}:{PROM_PASSWORD}".encode()).decode()
}
HOOK_AUTH = {"Authorization": f"Bearer {HOOK_TOKEN}"}

_RULES = f"""\
# Written by tests/server_process.py: one source of each kind, no rate limits.
sources:
  - name: {AM_SOURCE}
    kind: alertmanager
    auth:
      bearer_token: {{env: ITEST_AM_TOKEN}}
  - name: {PROM_SOURCE}
    kind: alertmanager_api
    auth:
      basic:
        username: {PROM_USER}
        password: {{env: ITEST_PROM_PASSWORD}}
  - name: {HOOK_SOURCE}
    kind: webhook
    auth:
      bearer_token: {{env: ITEST_HOOK_TOKEN}}
  - name: {PD_SOURCE}
    kind: pagerduty
    routing_key: {{env: ITEST_PD_ROUTING_KEY}}
"""


def write_test_rules(directory: Path) -> Path:
    """Writes a rules file with one source of every kind; credentials come from CREDENTIALS_ENV."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "rules.yml"
    path.write_text(_RULES)
    return path


class OutsideProcess:
    """One process started with Popen whose stdout and stderr go to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        max_open_files: int | None = None,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self.log_path = log_path
        self._env = None if env is None else dict(env)
        self._cwd = cwd
        self._max_open_files = max_open_files
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id of the current run, or None when not started."""
        return None if self._process is None else self._process.pid

    def launch(self) -> None:
        """Starts the process; its output is appended to the log, so restarts keep history."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- starting: {' '.join(self._argv)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self._argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._env,
                cwd=self._cwd,
                preexec_fn=self._limit_open_files if self._max_open_files else None,
            )

    def _limit_open_files(self) -> None:
        # Runs in the child before exec: a lowered RLIMIT_NOFILE, as a small server has.
        limit = self._max_open_files or resource.RLIM_INFINITY
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    def kill(self) -> None:
        """Kills the process with SIGKILL, as a crash would, and reaps it."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        """Asks the process to exit (SIGTERM) and waits; kills it if it does not exit in time."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """Returns the last lines of the process's output."""
        if not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def describe(self, problem: str, lines: int = 30) -> str:
        """A failure message: what went wrong, where the log is, and its tail."""
        return f"{self.name}: {problem}; log {self.log_path}:\n{self.log_tail(lines)}"

    async def wait_ready(self, url: str, deadline_seconds: float = START_DEADLINE_SECONDS) -> None:
        """Polls GET ``url`` until it answers 200; fails early if the process exits.

        A process still running at the deadline is a hang or a refusal: the failure
        quotes the last answer (or error), and a Python process started with
        ``PYTHONFAULTHANDLER`` is aborted first, so that its threads' stacks are in the log.
        """
        last = "no answer yet"

        async def probe() -> bool | None:
            nonlocal last
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise RuntimeError(self.describe(f"exited with {code} before it was ready"))
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return True
                    last = f"{response.status} {(await response.text())[:500]}"
                    return None
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = repr(exc)
                return None

        async with aiohttp.ClientSession(timeout=_PROBE_TIMEOUT) as session:
            try:
                await poll_until(probe, deadline_seconds, interval=0.05)
            except TimeoutError as exc:
                self._dump_stacks()
                raise TimeoutError(
                    self.describe(
                        f"{url} did not answer 200 within {deadline_seconds}s (last: {last})",
                        lines=120,
                    )
                ) from exc

    def _dump_stacks(self) -> None:
        # faulthandler writes every thread's stack on SIGABRT; only asked where it is on.
        process = self._process
        if process is None or process.poll() is not None:
            return
        if (self._env or {}).get("PYTHONFAULTHANDLER") != "1":
            return
        process.send_signal(signal.SIGABRT)
        try:
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class TocsinProcess:
    """``tocsin serve`` as a subprocess on a fixed free port, with a rules file and a store URL.

    The port is chosen once, so ``url`` stays valid across restarts. ``kill`` crashes the
    process (SIGKILL); ``stop`` shuts it down gracefully; ``start`` and ``restart`` return
    once ``GET /-/ready`` answers 200.
    """

    def __init__(
        self,
        *,
        rules: Path,
        store: str,
        work_dir: Path,
        env: Mapping[str, str] = CREDENTIALS_ENV,
        extra_args: Sequence[str] = (),
        max_open_files: int | None = None,
    ) -> None:
        self.port = free_port()
        self.store = store
        self.work_dir = work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "tocsin.cli", "serve",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--rules", str(rules),
            "--store", store,
            "--log-format", "json",
            *extra_args,
        ]  # fmt: skip
        # Settings from the caller's environment must not leak in; flags say everything.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
        environment.update(env)
        environment["PYTHONUNBUFFERED"] = "1"
        # A start that hangs is aborted with SIGABRT: its threads' stacks then go to the log.
        environment["PYTHONFAULTHANDLER"] = "1"
        self._process = OutsideProcess(
            "tocsin",
            argv,
            work_dir / "tocsin.log",
            env=environment,
            cwd=work_dir,
            max_open_files=max_open_files,
        )

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the process's stderr (its JSON log) goes, across restarts."""
        return self._process.log_path

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running

    @property
    def pid(self) -> int | None:
        """The server's process id, or None before it was started."""
        return self._process.pid

    async def start(self) -> None:
        """Starts the server and returns once it is ready (its store answers)."""
        self._process.launch()
        try:
            await self.wait_ready()
        except BaseException:
            self._process.kill()
            raise

    async def wait_ready(self, deadline_seconds: float = START_DEADLINE_SECONDS) -> None:
        """Returns once the running server answers ``GET /-/ready`` with 200 (its store works)."""
        await self._process.wait_ready(f"{self.url}/-/ready", deadline_seconds)

    async def wait_correlator(self, deadline_seconds: float = START_DEADLINE_SECONDS) -> None:
        """Returns once the correlator child answers: its metrics appear in ``/metrics``.

        ``/-/ready`` says the server takes alerts; its correlator starts alongside, a
        moment later, and a test about who correlates what must wait for it.
        """

        async def child_reports() -> bool | None:
            async with (
                aiohttp.ClientSession(timeout=_PROBE_TIMEOUT) as session,
                session.get(f"{self.url}/metrics") as response,
            ):
                text = await response.text()
            return True if "tocsin_correlator_entries_total" in text else None

        try:
            await poll_until(child_reports, deadline_seconds, interval=0.05)
        except TimeoutError as exc:
            raise TimeoutError(self.describe("the correlator child did not report")) from exc

    def kill(self) -> None:
        """Crashes the server with SIGKILL: no shutdown code runs."""
        self._process.kill()

    def stop(self) -> None:
        """Stops the server with SIGTERM and waits until it exited."""
        self._process.stop()

    async def restart(self, *, crash: bool = False) -> None:
        """Stops (or, with ``crash``, kills) the server and starts it again on the same port."""
        if crash:
            self.kill()
        else:
            self.stop()
        await self.start()

    def log_tail(self, lines: int = 30) -> str:
        """Returns the last lines of the server's log."""
        return self._process.log_tail(lines)

    async def stored_alerts(self) -> list[Alert]:
        """Reads the whole alert log from the store, whether the server runs or not."""
        return await read_alert_log(self.store)

    async def metric(self, name: str, **labels: str) -> float:
        """Scrapes the server's /metrics and returns one sample (0 when absent)."""
        return await scrape_metric(f"{self.url}/metrics", name, **labels)

    def describe(self, problem: str) -> str:
        """A failure message with the tail of the server's log."""
        return self._process.describe(problem)


async def read_alert_log(store_url: str, page: int = 10_000) -> list[Alert]:
    """Returns every alert in the alert log at ``store_url``, in log order."""
    store = store_from_url(store_url)
    await store.open()
    try:
        alerts: list[Alert] = []
        cursor: str | None = None
        while True:
            entries = await store.read(after=cursor, limit=page)
            if not entries:
                return alerts
            alerts.extend(entry.alert for entry in entries)
            cursor = entries[-1].cursor
    finally:
        await store.close()


async def scrape_metric(url: str, name: str, **labels: str) -> float:
    """Sums the samples called ``name`` (e.g. ``x_total``) at a /metrics URL that carry ``labels``.

    Absent samples count as 0, as a counter nobody incremented yet.
    """
    async with (
        aiohttp.ClientSession(timeout=_PROBE_TIMEOUT) as session,
        session.get(url) as response,
    ):
        response.raise_for_status()
        text = await response.text()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total
