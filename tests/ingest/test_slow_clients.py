"""Item 16: slow and abundant clients cannot shut others out; item 19: a disconnect is quiet.

Against a real ``tocsin serve`` (its own listener, timeouts and connection cap are what is
tested), with a lowered RLIMIT_NOFILE where the test is about running out of descriptors.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, START, Ingest
from tests.app_harness import HOOK_AUTH as HARNESS_HOOK_AUTH
from tests.server_process import HOOK_AUTH, TocsinProcess, write_test_rules
from tests.support import poll_until
from tocsin.app import create_app
from tocsin.serving import connection_cap

# 256 descriptors leave a cap of 64 connections (tocsin.serving.connection_cap).
MAX_OPEN_FILES = 256
FLOOD = 400  # more connections than the process has descriptors
ANSWER_DEADLINE = aiohttp.ClientTimeout(total=10)
SlowClients = list[asyncio.StreamWriter]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[TocsinProcess]]]:
    started: list[TocsinProcess] = []

    async def start(*args: str, max_open_files: int | None = None) -> TocsinProcess:
        work_dir = tmp_path / f"tocsin-{len(started)}"
        process = TocsinProcess(
            rules=write_test_rules(tmp_path / "rules"),
            store=f"sqlite://{work_dir / 'tocsin.db'}",
            work_dir=work_dir,
            extra_args=["--no-correlate", *args],
            max_open_files=max_open_files,
        )
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        process.kill()


async def open_slow_clients(port: int, count: int) -> SlowClients:
    """Opens ``count`` unauthenticated requests that never finish, half of them in the body
    of /v2/enqueue (whose credential is in the body), half in the headers."""
    clients: SlowClients = []
    for i in range(count):
        # Before, connections beyond the descriptors waited unaccepted: this timed out.
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        if i % 2:
            writer.write(
                b"POST /v2/enqueue HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b'Content-Length: 400000\r\n\r\n{"routing_key": "'
            )
        else:
            writer.write(b"POST /ingest/webhook HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        clients.append(writer)
    return clients


def close_all(clients: SlowClients) -> None:
    for writer in clients:
        writer.close()


async def test_a_flood_of_slow_unauthenticated_posts_leaves_health_and_ingest_answering(
    start_server: Callable[..., Awaitable[TocsinProcess]],
) -> None:
    # Timeouts far longer than the test: what keeps the server reachable is the cap.
    server = await start_server(
        "--header-timeout-seconds", "300", "--body-timeout-seconds", "300",
        max_open_files=MAX_OPEN_FILES,
    )  # fmt: skip
    clients = await open_slow_clients(server.port, FLOOD)
    try:
        async with aiohttp.ClientSession(timeout=ANSWER_DEADLINE) as session:
            async with session.get(f"{server.url}/-/healthy") as health:
                assert health.status == 200, server.describe("not healthy during the flood")
            alert = {"summary": "still here", "labels": {"alertname": "DuringFlood"}}
            async with session.post(
                f"{server.url}/ingest/webhook", json=alert, headers=HOOK_AUTH
            ) as ingest:
                assert ingest.status == 200, server.describe("ingest refused during the flood")
    finally:
        close_all(clients)
    server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert "Too many open files" not in log
    # The closed connections are logged within the line budget, not one line each.
    assert log.count("connection limit reached") <= 20
    assert [a.labels["alertname"] for a in await server.stored_alerts()] == ["DuringFlood"]


async def test_accept_failures_at_the_descriptor_limit_are_logged_within_a_budget(
    start_server: Callable[..., Awaitable[TocsinProcess]],
) -> None:
    # No cap below the descriptor limit: accept() itself fails with EMFILE, which Python's
    # event loop reports for every queued connection, every second (tens of thousands of
    # tracebacks before).
    server = await start_server("--max-connections", "100000", max_open_files=MAX_OPEN_FILES)
    clients = await open_slow_clients(server.port, MAX_OPEN_FILES + 40)
    try:

        async def refused_thrice() -> bool | None:
            refusals = server.log_path.read_text().count("cannot accept connections")
            return True if refusals >= 3 else None

        await poll_until(refused_thrice, deadline_seconds=30)
    finally:
        close_all(clients)
    server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "cannot accept connections" in line]
    assert all('"error": "Too many open files"' in line for line in lines)
    # Before: every queued connection, every retry, one traceback: thousands a second.
    assert len(lines) < 60, len(lines)


async def test_headers_must_arrive_within_the_header_timeout(
    start_server: Callable[..., Awaitable[TocsinProcess]],
) -> None:
    server = await start_server("--header-timeout-seconds", "1")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /ingest/webhook HTTP/1.1\r\nHost: t\r\n")  # and nothing more
    # The server closes the connection: the read ends (before the test's own deadline).
    assert await asyncio.wait_for(reader.read(), timeout=20) == b""
    writer.close()


async def test_a_client_that_disconnects_mid_body_is_a_quiet_debug_line(
    start_server: Callable[..., Awaitable[TocsinProcess]],
) -> None:
    server = await start_server("--log-level", "debug")
    body = orjson.dumps({"summary": "s", "labels": {"alertname": "Gone"}})
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /ingest/webhook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Authorization: {HOOK_AUTH['Authorization']}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:-5]
    )
    await writer.drain()
    writer.close()

    async def logged() -> str | None:
        found = [
            line
            for line in server.log_path.read_text().splitlines()
            if "client disconnected mid-request" in line
        ]
        return found[0] if found else None

    line = await poll_until(logged, deadline_seconds=20)
    assert '"level": "debug"' in line
    server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert "unhandled error" not in log
    assert await server.stored_alerts() == []


@pytest.fixture
async def impatient(
    aiohttp_client: Callable[..., Awaitable[object]], make_settings: Callable[..., Settings]
) -> Ingest:
    """The harness application with a short body deadline."""
    registry = CollectorRegistry()
    clock = ManualClock(START)
    app = create_app(
        make_settings(body_timeout_seconds=0.2, correlate=False),
        clock=clock,
        registry=registry,
        env=ENV,
    )
    return Ingest(await aiohttp_client(app), clock, registry)  # type: ignore[arg-type]


async def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    impatient: Ingest,
) -> None:
    server = impatient.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /ingest/webhook HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + f"Authorization: {HARNESS_HOOK_AUTH['Authorization']}\r\n".encode()
        + b'Content-Length: 1000\r\n\r\n{"summary": '
    )
    answer = await asyncio.wait_for(reader.read(), timeout=20)  # read to the close
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive within 0.2 s" in answer
    writer.close()
    assert impatient.metric("tocsin_alerts_rejected_total", source="hooks", reason="timeout") == 1


@pytest.mark.parametrize(
    ("max_connections", "descriptors", "cap"),
    [
        # The machine: 1,024 descriptors leave 832 connections and a reserve of 192
        # (one accept burst of 128, the store, the logs, the correlator's pipes).
        (0, 1024, 832),
        # Small limits keep three quarters for the rest: an accept burst and its own files.
        (0, 256, 64),
        # An operator's own cap wins.
        (50, 1024, 50),
    ],
)
def test_the_connection_cap_leaves_descriptors_for_everything_else(
    monkeypatch: pytest.MonkeyPatch, max_connections: int, descriptors: int, cap: int
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _: (descriptors, descriptors))
    assert connection_cap(Settings(max_connections=max_connections)) == cap
