"""A correlator child in a long step is live, not hung, and its lag shows the delay (item 2).

A storm incident once took the child more than the heartbeat timeout to read at start;
the parent took it for hung, killed it, and the next one did the same, fifteen times,
while the lag read 0.0. Here the step is made long for real: the child's store (a real
redis-server) pauses every write, so each of the child's claims waits, its event loop
free. The parent's clock runs far past the timeout: the child stays, and the lag the
parent reads from it grows.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import ENV, START
from tests.integration.test_correlator_process import running_child
from tests.support import poll_until
from tocsin.app import create_app
from tocsin.correlator_health import RestartReason
from tocsin.keys import CORRELATOR_PROCESS

pytestmark = pytest.mark.redis

Client = TestClient  # type: ignore[type-arg]
TIMEOUT = timedelta(seconds=30)


@contextlib.asynccontextmanager
async def writes_paused(redis_url: str) -> AsyncIterator[None]:
    """Pauses every write (and blocking read) to the redis-server until the block ends."""
    client = aioredis.from_url(redis_url)
    try:
        await client.execute_command("CLIENT", "PAUSE", "120000", "WRITE")
        yield
    finally:
        await client.execute_command("CLIENT", "UNPAUSE")
        await client.aclose()


async def test_a_long_live_step_is_not_killed_and_the_lag_grows(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    redis_url: str,
) -> None:
    clock = ManualClock(START)
    settings = make_settings(
        store=redis_url,
        correlator_mode="process",
        correlator_heartbeat_timeout_seconds=TIMEOUT.total_seconds(),
        log_format="json",
    )
    app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    child = client.app[CORRELATOR_PROCESS]
    first = await running_child(client)

    async with writes_paused(redis_url):
        seen = child.health.last_progress_at

        async def behind() -> float | None:
            # Each look moves the parent's clock past the timeout since the last one: a
            # child judged by its steps alone, all waiting on the store, would be killed.
            clock.advance(TIMEOUT + timedelta(seconds=1))
            lag = child.health.lag_seconds
            return lag if lag is not None and lag > 2.0 else None

        lag = await poll_until(behind, deadline_seconds=30, interval=0.2)

        assert child.pid == first
        assert child.health.restarts[RestartReason.HUNG] == 0
        assert child.health.last_progress_at != seen
        body = await (await client.get("/-/ready")).json()
        assert body["correlator"]["lag_seconds"] >= lag
        metrics = await (await client.get("/metrics")).text()
        [line] = [m for m in metrics.splitlines() if m.startswith("tocsin_correlator_lag_seconds ")]
        assert float(line.split()[1]) >= lag
