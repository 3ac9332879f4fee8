"""``tocsin serve`` says when a signal stops it: one line ``stopping``, one ``stopped``.

Report item 10: Ctrl-C stopped the server without logging anything. Through the real
command line in a subprocess, stopped by SIGINT (Ctrl-C) or SIGTERM (systemd, Docker).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app_harness import ENV, RULES
from tests.support import free_port

DEADLINE_SECONDS = 30


def wait_until_healthy(port: int) -> None:
    """Polls /-/healthy until it answers 200 (the port is taken before the app serves)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_logs_stopping_then_stopped_once_each(
    tmp_path: Path, signal_number: signal.Signals
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    command = [
        *(sys.executable, "-m", "tocsin.cli", "serve", "--rules", str(rules)),
        *("--port", str(port), "--store", f"sqlite://{tmp_path / 'tocsin.db'}"),
    ]
    with subprocess.Popen(
        command,
        env={**env, **ENV},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            wait_until_healthy(port)
            process.send_signal(signal_number)
            output, _ = process.communicate(timeout=DEADLINE_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, output
    # Not a terminal: one JSON object a line.
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert events.count("stopping") == 1, output
    assert events.count("stopped") == 1, output
    assert events.index("serving") < events.index("stopping") < events.index("stopped")
