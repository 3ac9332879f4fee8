"""The status page task of tocsin serve: listeners hear what each step changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from statuspage.writer import Changes
from tests.app_harness import ENV, RULES
from tests.statuspage.harness import opened, page_app, public_incidents
from tocsin.app import create_app
from tocsin.keys import CLOCK, STATUS_LISTENERS, STATUS_WRITER, STORE
from tocsin.statuspage_task import StatusPageTask

Client = TestClient  # type: ignore[type-arg]

PAGE_RULES = RULES + Path(__file__).with_name("rules.yml").read_text()
# 22:30 in Berlin: the page's day changes 90 minutes later.
START = datetime(2026, 3, 12, 21, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def client(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application on each store, without a correlator, on a manual clock."""
    return await page_app(request, aiohttp_client, make_settings, tmp_path, PAGE_RULES, START)


async def test_listeners_hear_the_public_incident_and_the_day_change(client: Client) -> None:
    heard: list[Changes] = []

    async def listener(changes: Changes) -> None:
        heard.append(changes)

    client.app[STATUS_LISTENERS].append(listener)
    # The application's own task runs too: whichever steps first tells the listeners.
    task = StatusPageTask(client.app)
    clock: ManualClock = client.app[CLOCK]  # type: ignore[assignment]
    await task.tick()
    assert any(c.everything for c in heard)  # a task's first step rebuilds everything
    await task.tick()  # the lock is fair: the application's first step is done after this
    heard.clear()
    store = client.app[STORE]
    await opened(store, 1, START)
    clock.advance(timedelta(minutes=1))
    for _ in range(5):
        await task.tick()
    (record,) = await public_incidents(store)
    told = set().union(*(c.incidents for c in heard))
    assert told == {record.incident.id}
    assert not any(c.everything for c in heard)
    heard.clear()
    clock.advance(timedelta(hours=2))  # past midnight in Berlin
    await task.tick()
    assert any(c.everything for c in heard)


@pytest.mark.redis
async def test_with_redis_one_replica_writes_and_every_replica_hears_it(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    redis_url: str,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "status.yml"
    rules.write_text(PAGE_RULES)
    settings = make_settings(correlate=False, rules=rules, store=redis_url)
    clock = ManualClock(START)
    replicas = [
        await aiohttp_client(
            create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
        )
        for _ in range(2)
    ]
    heard: list[list[Changes]] = [[], []]
    for replica, seen in zip(replicas, heard, strict=True):

        async def listener(changes: Changes, seen: list[Changes] = seen) -> None:
            seen.append(changes)

        replica.app[STATUS_LISTENERS].append(listener)
    tasks = [StatusPageTask(r.app) for r in replicas]
    for task in tasks:
        await task.tick()  # each catches up with the page as it is
    writers = [r.app[STATUS_WRITER] for r in replicas]
    for seen in heard:
        seen.clear()
    await opened(replicas[0].app[STORE], 1, START)
    clock.advance(timedelta(minutes=1))
    steps = []
    for _ in range(3):
        for task in tasks:
            steps.append(await task.tick())
    (record,) = await public_incidents(replicas[0].app[STORE])
    # One writer applied the event (the other's steps got None: not its lease) ...
    assert any(s is None for s in steps)
    assert len({w.member for w in writers}) == 2
    # ... and both replicas' listeners heard of the new public incident, once each.
    for seen in heard:
        assert [c.incidents for c in seen if c.incidents] == [frozenset({record.incident.id})]
