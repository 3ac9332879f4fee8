"""Starts and stops the servers under test, each on a free loopback port in a temp dir.

Every process is started by ``Deployment`` context managers that stop it on exit, even on
error; children also get SIGKILL from the kernel if the bench process itself dies. Memory
and CPU come from ``/proc/PID``: ``VmHWM`` is the peak resident set since the process
started, read just before it is stopped. A ``-correlating`` target is Tocsin with its
correlator child on; its CPU is summed over the process tree (``process_tree_cpu_s``).
"""

from __future__ import annotations

import ctypes
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
REDIS_SERVER = "/usr/bin/redis-server"
CORRELATING_SUFFIX = "-correlating"
TARGET_NAMES = (
    "tocsin-sqlite",
    "tocsin-sqlite" + CORRELATING_SUFFIX,
    "tocsin-redis",
    "tocsin-redis" + CORRELATING_SUFFIX,
    "alertmanager",
)
AUTH_ENV_VARIABLE = "TOCSIN_BENCH_TOKEN"

START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 10.0
_PR_SET_PDEATHSIG = 1

_RULES_YAML = """\
# Written by bench/servers.py: one Alertmanager-API source, no rate limit.
sources:
  - name: bench
    kind: alertmanager_api
    auth:
      bearer_token: {env: TOCSIN_BENCH_TOKEN}
# The same token reads the Alertmanager API (python -m bench amapi).
api_keys:
  - {name: bench, role: viewer, key: {env: TOCSIN_BENCH_TOKEN}}
"""

# A route to a receiver without integrations: Alertmanager stores and groups, sends nothing.
_ALERTMANAGER_YAML = """\
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


class ServerError(RuntimeError):
    """A server did not start, or died."""


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    """Resources one process used so far, from /proc."""

    rss_kb: int
    peak_rss_kb: int
    cpu_s: float


class ManagedProcess:
    """One child process with its log file; ``stop`` is SIGTERM, then SIGKILL after a deadline."""

    def __init__(
        self,
        name: str,
        command: list[str],
        log_path: Path,
        env: dict[str, str],
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,  # a terminal's Ctrl-C reaches only the bench
                preexec_fn=die_with_parent,
            )

    @property
    def pid(self) -> int:
        """The process id."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self._process.poll() is None

    def usage(self) -> ProcessUsage:
        """Current and peak resident memory and CPU seconds so far."""
        return process_usage(self.pid)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the process' output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the process gracefully, or kills it after STOP_DEADLINE_S."""
        if self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=STOP_DEADLINE_S)


@dataclass(frozen=True, slots=True)
class Deployment:
    """A running target: where to send requests, the server process, and helpers (Redis).

    ``correlating``: Tocsin runs its correlator (as a child process of ``server``).
    """

    target: str
    base_url: str
    server: ManagedProcess
    helpers: tuple[ManagedProcess, ...] = ()
    correlating: bool = False


def process_usage(pid: int) -> ProcessUsage:
    """Reads VmRSS, VmHWM (peak RSS) and utime+stime of ``pid`` from /proc."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    # A process that exited but was not yet reaped has no Vm* lines: report 0, not a crash.
    return ProcessUsage(
        rss_kb=values.get("VmRSS", 0), peak_rss_kb=values.get("VmHWM", 0), cpu_s=_cpu_s(pid)
    )


def process_tree_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds so far of ``pid`` and of every live descendant, by process id.

    Subtract two readings per pid: a child that exits in between takes its CPU with it.
    """
    seconds: dict[int, float] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            seconds[current] = _cpu_s(current)
            pending += child_pids(current)
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while we looked
    return seconds


def child_pids(pid: int) -> list[int]:
    """The live children of ``pid``, from ``/proc/PID/task/*/children`` (Linux >= 3.5)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended
    return children


def command_line(pid: int) -> list[str]:
    """The arguments ``pid`` was started with; empty if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the parenthesised command name; utime and stime are fields 14, 15.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def deploy(
    target: str,
    workdir: Path,
    token: str,
    tocsin_tree: Path | None = None,
    tocsin_env: Mapping[str, str] | None = None,
    *,
    tocsin_rules: str = _RULES_YAML,
    alertmanager_config: str = _ALERTMANAGER_YAML,
) -> Iterator[Deployment]:
    """Starts ``target`` (one of TARGET_NAMES) in ``workdir``; stops everything on exit.

    ``tocsin_tree`` runs Tocsin from another source tree (e.g. a ``git archive`` of an
    older commit) instead of the installed one, to compare before and after a change.
    ``tocsin_env`` adds ``TOCSIN_*`` settings to a Tocsin target's environment.
    ``tocsin_rules`` / ``alertmanager_config``: the YAML each gets instead of the default
    (one source, no paging; a receiver without integrations).
    """
    extra = dict(tocsin_env or {})
    if target not in TARGET_NAMES:
        raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGET_NAMES)}")
    correlating = target.endswith(CORRELATING_SUFFIX)
    base = target.removesuffix(CORRELATING_SUFFIX)
    with ExitStack() as stack:
        if base == "tocsin-sqlite":
            store = f"sqlite://{workdir / 'bench.db'}"
            server = stack.enter_context(
                _tocsin(workdir, store, token, tocsin_tree, correlating, extra, tocsin_rules)
            )
            yield Deployment(target, _url(server), server.process, (), correlating)
        elif base == "tocsin-redis":
            redis_listening = stack.enter_context(redis(workdir))
            store = f"redis://127.0.0.1:{redis_listening.port}/0"
            server = stack.enter_context(
                _tocsin(workdir, store, token, tocsin_tree, correlating, extra, tocsin_rules)
            )
            helpers = (redis_listening.process,)
            yield Deployment(target, _url(server), server.process, helpers, correlating)
        elif base == "alertmanager":
            server = stack.enter_context(_alertmanager(workdir, alertmanager_config))
            yield Deployment(target, _url(server), server.process)
        else:
            raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGET_NAMES)}")


@dataclass(frozen=True, slots=True)
class _Listening:
    process: ManagedProcess
    port: int


def _url(server: _Listening) -> str:
    return f"http://127.0.0.1:{server.port}"


@contextmanager
def _tocsin(
    workdir: Path,
    store: str,
    token: str,
    tree: Path | None,
    correlating: bool,
    extra_env: Mapping[str, str],
    rules_yaml: str = _RULES_YAML,
) -> Iterator[_Listening]:
    rules = workdir / "rules.yml"
    rules.write_text(rules_yaml)
    port = free_port()
    command = [
        sys.executable, "-m", "tocsin.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--rules", str(rules), "--store", store,
        "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, **extra_env, AUTH_ENV_VARIABLE: token}
    if correlating:
        # The whole pipeline, as deployed: the correlator in a child process of its own.
        env |= {"TOCSIN_CORRELATE": "true", "TOCSIN_CORRELATOR_MODE": "process"}
    else:
        # Ingest alone, as Alertmanager's API is measured. `python -m bench correlation`
        # measures the correlator in-process; the -correlating targets, end to end.
        env["TOCSIN_CORRELATE"] = "false"
    if tree is not None:
        # sys.path (cwd for -m, then PYTHONPATH) is searched before the editable install.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    process = ManagedProcess("tocsin", command, workdir / "tocsin.log", env, cwd=tree)
    try:
        _wait_for_http(process, port, "/-/ready")
        yield _Listening(process, port)
    finally:
        process.stop()


@contextmanager
def _alertmanager(workdir: Path, config_yaml: str = _ALERTMANAGER_YAML) -> Iterator[_Listening]:
    config = workdir / "alertmanager.yml"
    config.write_text(config_yaml)
    storage = workdir / "alertmanager-data"
    storage.mkdir()
    port = free_port()
    command = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    process = ManagedProcess(
        "alertmanager", command, workdir / "alertmanager.log", dict(os.environ)
    )
    try:
        _wait_for_http(process, port, "/-/ready")
        yield _Listening(process, port)
    finally:
        process.stop()


@contextmanager
def redis(workdir: Path) -> Iterator[_Listening]:
    """Runs a private ``redis-server`` (AOF, fsync every second) until the block ends."""
    data = workdir / "redis-data"
    data.mkdir()
    port = free_port()
    command = [
        REDIS_SERVER,
        "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
        "--dir", str(data), "--daemonize", "no",
    ]  # fmt: skip
    process = ManagedProcess("redis", command, workdir / "redis.log", dict(os.environ))
    try:
        _wait_until(process, lambda: _redis_pong(port), "redis-server answers PING")
        yield _Listening(process, port)
    finally:
        process.stop()


def _wait_for_http(process: ManagedProcess, port: int, path: str) -> None:
    _wait_until(process, lambda: _http_status(port, path) == 200, f"GET {path} returns 200")


def _wait_until(process: ManagedProcess, ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while True:
        if not process.alive():
            raise ServerError(f"{process.name} exited before {what}:\n{process.log_tail()}")
        if ready():
            return
        if time.monotonic() >= deadline:
            raise ServerError(
                f"{process.name}: not ready ({what}) within {START_DEADLINE_S:g}s:\n"
                f"{process.log_tail()}"
            )
        time.sleep(0.05)


def _http_status(port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def _redis_pong(port: int) -> bool:
    # While loading its AOF, Redis accepts connections but answers -LOADING.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def die_with_parent() -> None:
    """Asks the kernel to SIGKILL this process when its parent dies (use as preexec_fn)."""
    # Runs in the child between fork and exec: ask the kernel for SIGKILL when the
    # bench dies, so no server outlives a crashed or SIGKILLed bench.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
