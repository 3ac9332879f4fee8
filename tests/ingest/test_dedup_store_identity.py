"""The duplicate filter never hides data a store lost (issue 9 item 22).

A real redis-server without persistence is restarted empty under a running application:
the next copy of an alert the filter remembers must be written again, not answered as a
duplicate of an entry the store no longer has.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from ingest.store_identity import CHECK_INTERVAL
from tests.app_harness import ENV, PROM_AUTH, START
from tests.redis_server import RedisServer
from tests.support import require_binary
from tocsin.app import create_app
from tocsin.keys import STORE

pytestmark = pytest.mark.redis

ALERT = [
    {"labels": {"alertname": "DiskFull", "instance": "db1"}, "startsAt": "2026-11-27T15:00:00Z"}
]


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, whose data the test can throw away."""
    server = RedisServer(require_binary("redis-server", "redis-server"), tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def restart_without_data(server: RedisServer) -> None:
    """Stops Redis, deletes its files (as a restart without AOF loses them) and starts it."""
    server.stop()
    for child in server.data_dir.iterdir():
        if child.name != "redis.log":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    server.start()


async def test_a_store_that_lost_its_data_gets_the_next_copy_written_again(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    make_settings: Callable[..., Settings],
    volatile_redis: RedisServer,
) -> None:
    clock = ManualClock(START)
    app = create_app(
        make_settings(store=volatile_redis.url, correlate=False),
        clock=clock,
        registry=CollectorRegistry(),
        env=ENV,
    )
    client = await aiohttp_client(app)

    async def send() -> dict[str, object]:
        response = await client.post("/api/v2/alerts", json=ALERT, headers=PROM_AUTH)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    async def logged() -> int:
        return len(await app[STORE].read(None, 100))

    await send()
    clock.advance(timedelta(seconds=5))
    await send()
    assert await logged() == 1  # the resend was a duplicate

    restart_without_data(volatile_redis)
    assert await logged() == 0
    clock.advance(CHECK_INTERVAL)
    await send()
    assert await logged() == 1  # written again: the filter forgot what the store lost
    clock.advance(CHECK_INTERVAL)
    await send()
    assert await logged() == 1  # and duplicates are recognised again after that


async def test_a_restart_that_kept_the_data_is_harmless(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    make_settings: Callable[..., Settings],
    volatile_redis: RedisServer,
) -> None:
    clock = ManualClock(START)
    app = create_app(
        make_settings(store=volatile_redis.url, correlate=False),
        clock=clock,
        registry=CollectorRegistry(),
        env=ENV,
    )
    client = await aiohttp_client(app)
    for _ in range(2):
        response = await client.post("/api/v2/alerts", json=ALERT, headers=PROM_AUTH)
        assert response.status == 200
        volatile_redis.restart()  # with its AOF: nothing lost
        clock.advance(CHECK_INTERVAL)
    # At most one extra copy per restart; nothing is missing.
    assert 1 <= len(await app[STORE].read(None, 100)) <= 2


async def test_after_a_failed_write_the_identity_is_checked_before_the_next_answer(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    make_settings: Callable[..., Settings],
    volatile_redis: RedisServer,
) -> None:
    clock = ManualClock(START)
    app = create_app(
        make_settings(store=volatile_redis.url, correlate=False),
        clock=clock,
        registry=CollectorRegistry(),
        env=ENV,
    )
    client = await aiohttp_client(app)
    other = [{"labels": {"alertname": "Other"}, "startsAt": "2026-11-27T15:00:00Z"}]
    assert (await client.post("/api/v2/alerts", json=ALERT, headers=PROM_AUTH)).status == 200
    volatile_redis.stop()
    # Redis is gone: a new alert cannot be stored (503), and the filter is in doubt.
    assert (await client.post("/api/v2/alerts", json=other, headers=PROM_AUTH)).status == 503
    restart_without_data(volatile_redis)
    # Not a second later on the clock: the doubt alone makes ingest look first.
    response = await client.post("/api/v2/alerts", json=ALERT, headers=PROM_AUTH)
    assert response.status == 200
    assert len(await app[STORE].read(None, 100)) == 1
