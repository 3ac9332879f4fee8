"""/-/ready follows whether the store accepts writes (issue 9, item 21).

Real failures only: SQLite on a real, full filesystem (a 1 MiB tmpfs, mounted as root,
which CI is), and a real redis-server over its ``maxmemory`` with ``noeviction``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, HOOK_AUTH, START
from tests.redis_server import RedisServer
from tests.support import REQUIRE_ENV, require_binary
from tocsin.app import create_app
from tocsin.write_health import PROBE_INTERVAL

Client = TestClient  # type: ignore[type-arg]
ALERT = {"summary": "disk full", "labels": {"alertname": "DiskFull"}}


@contextlib.contextmanager
def tiny_filesystem(where: Path) -> Iterator[Path]:
    """Mounts a 1 MiB tmpfs at ``where`` for the test (needs root), unmounted after."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tocsin-test", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs (root needed): {mounted.stderr.strip()}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_ENV}=1 forbids skipping")
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Writes a file until the filesystem has no space left; returns it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(4096))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


async def serve(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    store: str,
) -> tuple[Client, ManualClock]:
    clock = ManualClock(START)
    settings = make_settings(store=store, correlate=False)
    app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app), clock


async def test_sqlite_on_a_full_disk_is_not_ready_and_says_why(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    with tiny_filesystem(tmp_path / "disk") as disk:
        client, clock = await serve(aiohttp_client, make_settings, f"sqlite://{disk / 't.db'}")
        assert (await client.get("/-/ready")).status == 200
        filler = fill(disk)

        # An alert that cannot be stored is refused for a retry...
        posted = await client.post("/ingest/webhook", json=ALERT, headers=HOOK_AUTH)
        assert posted.status == 503
        # ...and readiness says why, though the file still reads fine.
        ready = await client.get("/-/ready")
        assert ready.status == 503
        assert "does not accept writes" in (await ready.json())["reason"]

        # Space again: the next probe writes, and the server is ready.
        filler.unlink()
        clock.advance(PROBE_INTERVAL)
        assert (await client.get("/-/ready")).status == 200
        posted = await client.post("/ingest/webhook", json=ALERT, headers=HOOK_AUTH)
        assert posted.status == 200
        await client.close()


async def test_an_idle_sqlite_server_on_a_full_disk_is_found_by_the_probe(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    with tiny_filesystem(tmp_path / "disk") as disk:
        client, clock = await serve(aiohttp_client, make_settings, f"sqlite://{disk / 't.db'}")
        assert (await client.get("/-/ready")).status == 200
        fill(disk)
        clock.advance(PROBE_INTERVAL)

        ready = await client.get("/-/ready")

        assert ready.status == 503
        assert "does not accept writes" in (await ready.json())["reason"]
        await client.close()


@pytest.mark.redis
async def test_redis_over_maxmemory_is_not_ready_and_says_why(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    binary = require_binary("redis-server", "redis-server")
    with RedisServer(binary, tmp_path / "redis") as server:
        client, clock = await serve(aiohttp_client, make_settings, server.url)
        assert (await client.get("/-/ready")).status == 200
        admin = redis.Redis.from_url(server.url)
        # Redis still answers PING (the old readiness check), but refuses every write.
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1")
        clock.advance(PROBE_INTERVAL)

        ready = await client.get("/-/ready")

        assert ready.status == 503
        assert "maxmemory" in (await ready.json())["reason"]
        admin.config_set("maxmemory", "0")
        clock.advance(PROBE_INTERVAL)
        assert (await client.get("/-/ready")).status == 200
        admin.close()
        await client.close()
