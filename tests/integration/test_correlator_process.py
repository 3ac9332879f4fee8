"""``tocsin serve`` runs its correlator as a child process: correlates, reports, restarts, dies.

Real processes throughout: the serve, its ``tocsin correlate`` child, a SQLite file. The
child's pid is read from the kernel (``/proc/PID/task/*/children``), never guessed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.store import IncidentQuery
from core.store.factory import store_from_url
from tests.app_harness import ENV, START
from tests.integration.proc import children_of, is_alive
from tests.server_process import (
    CREDENTIALS_ENV,
    HOOK_AUTH,
    HOOK_SOURCE,
    OutsideProcess,
    StartTocsin,
    TocsinProcess,
    scrape_metric,
)
from tests.support import free_port, poll_until
from tocsin.app import create_app
from tocsin.correlator_health import ChildState, RestartReason
from tocsin.keys import CORRELATOR_PROCESS


def correlator_pid(tocsin: TocsinProcess) -> int:
    """The one child of the serve process: its correlator."""
    assert tocsin.pid is not None
    children = children_of(tocsin.pid)
    assert len(children) == 1, tocsin.describe(f"expected one child process, found {children}")
    return children[0]


async def post_alert(tocsin: TocsinProcess, name: str) -> None:
    """Posts one firing generic-webhook alert named ``name``."""
    event = {"summary": f"{name} is failing", "labels": {"alertname": name, "service": "web"}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tocsin.url}/ingest/webhook", json=event, headers=HOOK_AUTH) as answer,
    ):
        assert answer.status == 200, await answer.text()


async def wait_correlated(tocsin: TocsinProcess, stored: int) -> None:
    """Waits until the child's entries counter, seen through the parent, reaches ``stored``."""

    async def caught_up() -> bool | None:
        entries = await tocsin.metric("tocsin_correlator_entries_total")
        return True if entries >= stored else None

    try:
        await poll_until(caught_up, deadline_seconds=30, interval=0.1)
    except TimeoutError as exc:
        raise AssertionError(tocsin.describe(f"{stored} entries were not correlated")) from exc


async def incident_titles(store_url: str) -> list[str]:
    """The titles of every incident in the store."""
    store = store_from_url(store_url)
    await store.open()
    try:
        return sorted(i.title for i in await store.list_incidents(IncidentQuery(limit=100)))
    finally:
        await store.close()


async def test_serve_correlates_in_a_child_and_exports_its_metrics(
    start_tocsin: StartTocsin,
) -> None:
    tocsin = await start_tocsin()
    child = correlator_pid(tocsin)
    assert child != tocsin.pid
    await post_alert(tocsin, "DiskFull")
    await wait_correlated(tocsin, 1)
    assert await tocsin.metric("tocsin_alerts_stored_total", source=HOOK_SOURCE) == 1
    assert await tocsin.metric("tocsin_correlator_process_up") == 1
    assert await incident_titles(tocsin.store) == ["DiskFull"]


async def test_a_dead_correlator_is_restarted_and_goes_on(start_tocsin: StartTocsin) -> None:
    tocsin = await start_tocsin()
    first = correlator_pid(tocsin)
    os.kill(first, signal.SIGKILL)

    async def restarted() -> bool | None:
        assert tocsin.pid is not None
        children = [pid for pid in children_of(tocsin.pid) if pid != first and is_alive(pid)]
        return True if children else None

    await poll_until(restarted, deadline_seconds=30, interval=0.1)
    assert await tocsin.metric("tocsin_correlator_process_restarts_total", reason="exited") == 1
    assert await tocsin.metric("tocsin_correlator_process_restarts_total", reason="hung") == 0
    async with aiohttp.ClientSession() as session, session.get(f"{tocsin.url}/-/ready") as ready:
        correlator = (await ready.json())["correlator"]
    assert correlator["restarts"] == {"exited": 1, "hung": 0}
    assert correlator["last_restart"]["reason"] == "exited"
    await post_alert(tocsin, "CertExpiring")
    await wait_correlated(tocsin, 1)
    assert await incident_titles(tocsin.store) == ["CertExpiring"]


async def test_the_child_reloads_with_its_parent(start_tocsin: StartTocsin) -> None:
    tocsin = await start_tocsin()
    child = correlator_pid(tocsin)
    assert tocsin.pid is not None
    os.kill(tocsin.pid, signal.SIGHUP)

    async def both_reloaded() -> bool | None:
        reloads = tocsin.log_tail(200).count('"event": "rules reloaded"')
        return True if reloads >= 2 else None

    try:
        await poll_until(both_reloaded, deadline_seconds=20, interval=0.1)
    except TimeoutError as exc:
        raise AssertionError(tocsin.describe("parent and child did not both reload")) from exc
    assert '"process": "correlator"' in tocsin.log_tail(200)
    assert is_alive(child)


async def test_the_child_stops_with_its_parent_even_when_the_parent_is_killed(
    start_tocsin: StartTocsin,
) -> None:
    graceful = await start_tocsin()
    crashed = await start_tocsin()
    graceful_child, crashed_child = correlator_pid(graceful), correlator_pid(crashed)
    graceful.stop()
    crashed.kill()

    async def both_gone() -> bool | None:
        return True if not is_alive(graceful_child) and not is_alive(crashed_child) else None

    await poll_until(both_gone, deadline_seconds=20, interval=0.1)


async def test_correlate_runs_on_its_own_beside_an_ingest_only_serve(
    start_tocsin: StartTocsin, rules_file: Path, tmp_path: Path
) -> None:
    tocsin = await start_tocsin(None, "--no-correlate")
    assert tocsin.pid is not None
    assert children_of(tocsin.pid) == []
    port = free_port()
    argv = [
        sys.executable, "-m", "tocsin.cli", "correlate",
        "--port", str(port), "--rules", str(rules_file), "--store", tocsin.store,
        "--log-format", "json",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    correlator = OutsideProcess(
        "correlate", argv, tmp_path / "correlate.log", env={**env, **CREDENTIALS_ENV}
    )
    correlator.launch()
    try:
        await correlator.wait_ready(f"http://127.0.0.1:{port}/-/ready")
        await post_alert(tocsin, "QueueBacklog")

        async def correlated() -> bool | None:
            url = f"http://127.0.0.1:{port}/metrics"
            return True if await scrape_metric(url, "tocsin_correlator_entries_total") else None

        await poll_until(correlated, deadline_seconds=30, interval=0.1)
        assert await incident_titles(tocsin.store) == ["QueueBacklog"]
        # The ingest-only serve exports no correlator metrics of its own.
        assert await tocsin.metric("tocsin_correlator_entries_total") == 0
    finally:
        correlator.stop()


Client = TestClient  # type: ignore[type-arg]
TIMEOUT = timedelta(seconds=30)


@contextlib.asynccontextmanager
async def supervised(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> Any:
    """A serve in this process, on a manual clock, whose correlator is a real child."""
    clock = ManualClock(START)
    settings = make_settings(
        correlator_mode="process",
        correlator_heartbeat_timeout_seconds=TIMEOUT.total_seconds(),
        log_format="json",
    )
    app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    yield client, clock


async def running_child(client: Client, other_than: int | None = None) -> int:
    """Waits until a child (not ``other_than``) shows progress; returns its pid."""
    child = client.app[CORRELATOR_PROCESS]

    async def running() -> int | None:
        pid = child.pid
        moving = child.health.state is ChildState.RUNNING
        return pid if moving and pid is not None and pid != other_than else None

    return await poll_until(running, deadline_seconds=30, interval=0.05)


async def test_a_hung_correlator_is_killed_restarted_and_reported(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    async with supervised(aiohttp_client, make_settings) as (client, clock):
        child = client.app[CORRELATOR_PROCESS]
        first = await running_child(client)
        before = await (await client.get("/metrics")).text()
        assert "tocsin_correlator_lag_seconds " in before
        assert "tocsin_correlator_last_step_timestamp_seconds " in before
        # A stopped process makes no progress at all, as one spinning in a regex did.
        os.kill(first, signal.SIGSTOP)
        try:
            # While it is hung, the child's last known metrics stay on /metrics.
            during = await (await client.get("/metrics")).text()
            assert "tocsin_correlator_lag_seconds " in during
            assert "tocsin_correlator_last_step_timestamp_seconds " in during

            async def killed() -> bool | None:
                if child.health.restarts[RestartReason.HUNG]:
                    return True
                # The parent decides on its clock: move it past the heartbeat timeout.
                clock.advance(TIMEOUT + timedelta(seconds=1))
                return None

            await poll_until(killed, deadline_seconds=30, interval=0.05)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(first, signal.SIGCONT)
        assert not is_alive(first)
        second = await running_child(client, other_than=first)
        ready = await client.get("/-/ready")
        body = await ready.json()
        assert ready.status == 200
        assert body["correlator"]["state"] == "running"
        assert body["correlator"]["pid"] == second
        assert body["correlator"]["restarts"] == {"exited": 0, "hung": 1}
        assert body["correlator"]["last_restart"]["reason"] == "hung"
        text = await (await client.get("/metrics")).text()
        assert 'tocsin_correlator_process_restarts_total{reason="hung"} 1.0' in text
        assert 'tocsin_correlator_process_restarts_total{reason="exited"} 0.0' in text


async def test_a_killed_correlator_is_restarted_and_reported(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    async with supervised(aiohttp_client, make_settings) as (client, _):
        first = await running_child(client)
        os.kill(first, signal.SIGKILL)
        second = await running_child(client, other_than=first)
        body = await (await client.get("/-/ready")).json()
        assert body["status"] == "ready"
        assert body["correlator"]["pid"] == second
        assert body["correlator"]["restarts"] == {"exited": 1, "hung": 0}
        assert body["correlator"]["last_restart"]["reason"] == "exited"
        assert body["correlator"]["last_restart"]["at"] == "2026-11-27T15:12:00Z"


async def test_an_idle_correlator_is_not_taken_for_a_hung_one(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    async with supervised(aiohttp_client, make_settings) as (client, clock):
        child = client.app[CORRELATOR_PROCESS]
        first = await running_child(client)
        # Nothing to correlate, and much more than the timeout passes, in small steps:
        # the idle child's polls move its heartbeat each time the parent looks.
        for _ in range(4):
            seen = child.health.last_progress_at
            clock.advance(TIMEOUT / 2)

            async def moved(seen: object = seen) -> bool | None:
                return True if child.health.last_progress_at != seen else None

            await poll_until(moved, deadline_seconds=30, interval=0.05)
        assert child.pid == first
        assert child.health.restarts == {RestartReason.EXITED: 0, RestartReason.HUNG: 0}
