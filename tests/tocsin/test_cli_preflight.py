"""``tocsin serve`` refuses a port in use or a missing store directory in one line (item 26).

Through the real command line in a subprocess: the exit code, stderr, and that nothing
(the store file, a correlator child) was created.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.app_harness import ENV, RULES
from tests.support import free_port

# A clean start takes about a second; this one must stop well before it serves.
DEADLINE_SECONDS = 30


def run_serve(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    return subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "serve", "--rules", str(rules), *flags],
        env={**env, **ENV},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )


def test_a_port_in_use_is_one_line_before_anything_is_created(tmp_path: Path) -> None:
    database = tmp_path / "tocsin.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = run_serve(tmp_path, "--port", str(port), "--store", f"sqlite://{database}")

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line == (
        f"tocsin: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another tocsin serve? choose another with --port or TOCSIN_PORT, "
        "e.g. TOCSIN_PORT=9798 make run)"
    )
    assert done.stdout == ""
    # No store file, and so no correlator child either (it starts after the store).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.yml"]


@pytest.mark.parametrize(
    "store",
    [
        # A directory that does not exist.
        "sqlite://{tmp}/missing/tocsin.db",
        # A relative path into a missing directory.
        "sqlite://missing/tocsin.db",
        # A plain path, without the scheme.
        "{tmp}/missing/tocsin.db",
    ],
)
def test_a_missing_store_directory_is_one_line_before_anything_is_created(
    tmp_path: Path, store: str
) -> None:
    url = store.format(tmp=tmp_path)
    port = free_port()

    done = run_serve(tmp_path, "--port", str(port), "--store", url)

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("tocsin: the store's directory ")
    assert "missing" in line
    assert "does not exist" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.yml"]
    # Nor was the port taken.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
