"""Fixtures that start real processes: ``tocsin serve`` and the peers that send to it.

Every process a fixture starts is killed in its teardown, whether the test passed or not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from tests.server_process import (
    OutsideProcess,
    StartPeer,
    StartTocsin,
    TocsinProcess,
    write_test_rules,
)
from tests.support import require_binary


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """The test rules: one source of each kind with the credentials in CREDENTIALS_ENV."""
    return write_test_rules(tmp_path / "rules")


@pytest.fixture
async def start_tocsin(tmp_path: Path, rules_file: Path) -> AsyncIterator[StartTocsin]:
    """Starts ``tocsin serve`` processes (SQLite in tmp_path unless a store URL is given)."""
    started: list[TocsinProcess] = []

    async def start(store: str | None = None, *extra_args: str) -> TocsinProcess:
        work_dir = tmp_path / f"tocsin-{len(started)}"
        process = TocsinProcess(
            rules=rules_file,
            store=store or f"sqlite://{work_dir / 'tocsin.db'}",
            work_dir=work_dir,
            extra_args=extra_args,
        )
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
async def start_peer(tmp_path: Path) -> AsyncIterator[StartPeer]:
    """Starts an outside program and waits until ``ready_url`` answers 200."""
    started: list[OutsideProcess] = []

    async def start(name: str, argv: Sequence[str], ready_url: str) -> OutsideProcess:
        process = OutsideProcess(name, argv, tmp_path / f"{name}.log", cwd=tmp_path)
        started.append(process)
        process.launch()
        await process.wait_ready(ready_url)
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def alertmanager_binary() -> str:
    """Debian's Alertmanager (the package renames the binary)."""
    return require_binary("prometheus-alertmanager", "prometheus-alertmanager")


@pytest.fixture
def prometheus_binary() -> str:
    """Debian's Prometheus server."""
    return require_binary("prometheus", "prometheus")
