"""A correlator child stops promptly on SIGTERM, and with its parent, even mid-step (item 12).

A real ``tocsin correlate`` application (its real wiring, on SQLite) whose event loop a
task keeps busy, as a long step reading a storm incident did: the loop never reaches the
graceful stop. Its parent's death (PR_SET_PDEATHSIG) or a SIGTERM must still end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from tests.integration.proc import is_alive
from tests.server_process import CREDENTIALS_ENV, write_test_rules
from tests.support import poll_until

# Builds the real correlator app, adds a task that holds its loop, and runs it as
# `tocsin correlate` does; prints "busy" once the loop is held. With --parent-pid it
# ties itself to its parent first, as the CLI does.
_BUSY_CHILD = """
import asyncio, sys
from pathlib import Path
from typing import IO
from aiohttp import web
from core.settings import Settings
from tocsin.correlator_app import create_correlator_app
from tocsin.parent import die_with_parent

rules, store, socket_path, parent = sys.argv[1:5]
if parent != "-" and not die_with_parent(int(parent)):
    sys.exit(0)
settings = Settings(rules=Path(rules), store=store, correlator_mode="inline")
app = create_correlator_app(settings)

async def hold_the_loop(app):
    async def spin():
        await asyncio.sleep(0)
        print("busy", flush=True)
        while True:  # a step that never yields: no callback, no graceful stop runs
            sum(range(1000))
    app["spin"] = asyncio.get_running_loop().create_task(spin())
    yield

app.cleanup_ctx.append(hold_the_loop)
web.run_app(app, path=socket_path, print=None, access_log=None)
"""

# A parent that starts the busy child, says its pid, and waits to be killed.
_PARENT = """
import os, subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], *sys.argv[2:5], str(os.getpid())],
    stdout=subprocess.PIPE, text=True,
)
for line in child.stdout:  # its log lines come first
    if line.strip() == "busy":
        break
print("child", child.pid, flush=True)
child.wait()
"""


def _line_after(stream: IO[str], prefix: str) -> str:
    """The first line that starts with ``prefix``, read past the log lines before it."""
    for line in stream:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the process ended without a line starting {prefix!r}")


def _spawn(script: str, *arguments: str) -> subprocess.Popen[str]:
    """Runs a Python script with the test rules' credentials; its output is readable."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *arguments],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **CREDENTIALS_ENV},
    )


def _arguments(tmp_path: Path) -> list[str]:
    rules = write_test_rules(tmp_path / "rules")
    return [str(rules), f"sqlite://{tmp_path / 'tocsin.db'}", str(tmp_path / "metrics.sock")]


async def test_a_busy_correlator_stops_on_sigterm(tmp_path: Path) -> None:
    child = _spawn(_BUSY_CHILD, *_arguments(tmp_path), "-")
    try:
        assert child.stdout is not None
        _line_after(child.stdout, "busy")
        child.send_signal(signal.SIGTERM)

        async def stopped() -> bool | None:
            return True if child.poll() is not None else None

        await poll_until(stopped, deadline_seconds=20)
    finally:
        child.kill()
        child.wait()


async def test_a_busy_correlator_dies_with_its_killed_parent(tmp_path: Path) -> None:
    parent = _spawn(_PARENT, _BUSY_CHILD, *_arguments(tmp_path))
    assert parent.stdout is not None
    child_pid = int(_line_after(parent.stdout, "child ").removeprefix("child "))
    try:
        parent.kill()
        parent.wait()

        async def gone() -> bool | None:
            return True if not is_alive(child_pid) else None

        await poll_until(gone, deadline_seconds=20)
    finally:
        if is_alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)
