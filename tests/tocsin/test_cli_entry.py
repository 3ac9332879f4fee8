"""The command's entry points: ``python -m tocsin``, and a reader that stops early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.tocsin.oncall_rules import ONCALL_ENV, ONCALL_RULES

ROOT = Path(__file__).parents[2]


def test_python_m_tocsin_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tocsin", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "statuspage" in done.stdout


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    # `tocsin oncall feeds | head -1`: the pipe closes before the output is written.
    rules = tmp_path / "rules.yml"
    rules.write_text(ONCALL_RULES)
    read, write = os.pipe()
    os.close(read)  # nobody reads: every write is a broken pipe
    with open(write, "wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "tocsin", "oncall", "feeds", "--rules", str(rules)],
            cwd=ROOT,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env={**os.environ, **ONCALL_ENV},
            text=True,
            timeout=60,
            check=False,
        )
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
    assert done.returncode == 141
