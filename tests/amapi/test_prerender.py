"""The Alertmanager API's pre-render: open alerts rendered before a client asks.

The keeper renders at start, after each burst of correlator commits (once they pause,
or every MOST_STALE_SECONDS while they go on) and every INTERVAL_SECONDS anyway. Its
schedule is a function of the rings' times; its loop is driven here by scripted rings
(no time passes), and its wiring by the application's real doorbell on real SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from core.clock import ManualClock
from core.errors import StoreError
from core.store import Store
from core.store.sqlite import SQLiteStore
from ingest.gate import SourceGate
from rules.model import Rules
from tests.amapi.harness import AmApi
from tests.contract.builders import T0
from tests.contract.test_incident_alerts_contract import big_incident, create
from tests.support import poll_until
from tocsin.amapi import warm
from tocsin.amapi.open_alerts import OpenAlerts
from tocsin.amapi.warm import (
    IN_USE_FOR,
    INTERVAL_SECONDS,
    MOST_STALE_SECONDS,
    QUIET_SECONDS,
    KeepWarm,
    RenderSchedule,
)
from tocsin.keys import CLOCK, RULES, STORE, WAKEUPS
from tocsin.state import RulesState, RulesVersion
from tocsin.wakeup import Wakeups


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    sqlite_store = SQLiteStore(tmp_path / "tocsin.db")
    await sqlite_store.open()
    await create(sqlite_store, big_incident(40))
    yield sqlite_store
    await sqlite_store.close()


def test_with_no_ring_the_keeper_waits_the_interval() -> None:
    assert RenderSchedule().wait_seconds(100.0) == INTERVAL_SECONDS


def test_a_burst_is_rendered_once_it_pauses() -> None:
    schedule = RenderSchedule()
    schedule.rung(100.0)
    assert schedule.wait_seconds(100.0) == QUIET_SECONDS
    schedule.rung(100.5)  # another commit: wait for the pause again
    assert schedule.wait_seconds(100.5) == QUIET_SECONDS


def test_a_burst_that_goes_on_is_rendered_every_most_stale() -> None:
    schedule = RenderSchedule()
    schedule.rung(100.0)
    schedule.rung(100.0 + MOST_STALE_SECONDS - 0.25)
    assert schedule.wait_seconds(100.0 + MOST_STALE_SECONDS - 0.25) == 0.25
    assert schedule.wait_seconds(100.0 + MOST_STALE_SECONDS) == 0.0
    schedule.rendered()
    assert schedule.wait_seconds(100.0 + MOST_STALE_SECONDS) == INTERVAL_SECONDS


@dataclass
class Script:
    """The keeper's loop driven by scripted rings (no time passes) and a counted render."""

    rings: list[bool]
    failures: list[Exception | None] = field(default_factory=list)
    asked: list[float] = field(default_factory=list)  # the seconds each wait was given
    renders: int = 0

    async def ring(self, seconds: float) -> bool:
        self.asked.append(seconds)
        if not self.rings:
            raise asyncio.CancelledError  # the script ends the loop
        return self.rings.pop(0)

    async def render(self) -> None:
        self.renders += 1
        if self.failures and (error := self.failures.pop(0)) is not None:
            raise error

    async def play(self) -> None:
        with pytest.raises(asyncio.CancelledError):
            await KeepWarm(OpenAlerts()).run(self.render, self.ring)


async def test_the_loop_renders_at_start_and_after_each_burst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "START_DELAY_SECONDS", 0.0)
    # Two bursts: two rings then a pause; a quiet interval; one ring then a pause.
    script = Script([True, True, False, False, True, False])

    await script.play()

    # At start; after the first burst; after the quiet interval; after the second burst.
    assert script.renders == 4
    assert script.asked == [
        INTERVAL_SECONDS,  # rang
        QUIET_SECONDS,  # rang again
        QUIET_SECONDS,  # paused: render
        INTERVAL_SECONDS,  # nothing: render anyway
        INTERVAL_SECONDS,  # rang
        QUIET_SECONDS,  # paused: render
        INTERVAL_SECONDS,  # (the script ends)
    ]


async def test_a_failed_render_is_logged_and_the_keeper_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm, "START_DELAY_SECONDS", 0.0)
    script = Script([False, False], failures=[StoreError("database is locked")])

    await script.play()

    assert script.renders == 3


async def test_a_commit_ring_renders_the_open_alerts_without_a_request(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No interval render, no pause to wait for: only the start and the ring render.
    monkeypatch.setattr(warm, "START_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(warm, "INTERVAL_SECONDS", 3600.0)
    monkeypatch.setattr(warm, "QUIET_SECONDS", 0.0)
    rules = Rules(sources=())
    app = web.Application()
    clock = ManualClock(T0)
    app[WAKEUPS] = Wakeups()
    app[CLOCK] = clock
    app[STORE] = store
    app[RULES] = RulesState(RulesVersion(rules, SourceGate(rules, clock.now())))
    open_alerts = OpenAlerts()
    keeper = KeepWarm(open_alerts)
    context = keeper.context(app)
    await anext(context)
    try:
        await _rounds(keeper, 1)
        assert open_alerts.renders == 1  # the 40 alerts, at start

        app[WAKEUPS].incidents.ring()

        await _rounds(keeper, 2)
    finally:
        await anext(context, None)
    async with open_alerts.read(store, rules) as read:
        assert len(read.alerts) == 40
    assert open_alerts.renders == 1  # nothing changed since: the request rendered nothing


async def _rounds(keeper: KeepWarm, count: int) -> None:
    """Waits for the keeper's task (its reads run in SQLite's worker threads) to render."""

    async def done() -> bool | None:
        return True if keeper.rounds == count else None

    await poll_until(done, deadline_seconds=10, interval=0.01)


async def test_metrics_tell_how_many_alerts_are_held_rendered(amapi: AmApi) -> None:
    await amapi.post_alerts(
        {"alertname": "DiskFull", "instance": "a:9100"},
        {"alertname": "DiskFull", "instance": "b:9100"},
        {"alertname": "NodeDown", "instance": "c:9100"},
    )
    await amapi.wait_for_alerts(3)

    response = await amapi.client.get("/metrics")
    text = await response.text()

    assert "tocsin_amapi_rendered_alerts 3.0" in text


async def test_the_keeper_renders_while_the_api_is_in_use_then_lets_the_alerts_go(
    store: Store,
) -> None:
    rules = Rules(sources=())
    open_alerts = OpenAlerts()
    keeper = KeepWarm(open_alerts)

    await keeper.tend(T0, store, rules)  # the start counts as a request
    assert (keeper.rounds, open_alerts.holding) == (1, True)
    await keeper.tend(T0 + IN_USE_FOR, store, rules)
    assert keeper.rounds == 2

    await keeper.tend(T0 + IN_USE_FOR + timedelta(seconds=1), store, rules)  # nobody asked

    assert (keeper.rounds, open_alerts.holding) == (2, False)
    renders = open_alerts.renders
    async with open_alerts.read(store, rules) as read:  # a request renders them all again
        assert len(read.alerts) == 40
    assert open_alerts.renders == renders + 1


async def test_a_request_keeps_the_api_in_use(store: Store) -> None:
    rules = Rules(sources=())
    keeper = KeepWarm(OpenAlerts())
    await keeper.tend(T0, store, rules)

    keeper.asked(T0 + IN_USE_FOR)
    await keeper.tend(T0 + IN_USE_FOR + timedelta(minutes=10), store, rules)

    assert keeper.rounds == 2
