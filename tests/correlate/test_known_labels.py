"""Events that name their alert by dedup key alone act on their trigger's incident.

PagerDuty's acknowledge and resolve carry no labels. When the trigger went to a route
below the root (by its labels), the resolve must find that incident too: after the
correlator restarted, after a reload, or when another correlator saw the trigger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.incident import IncidentState
from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from tests.correlate.harness import load_test_rules, make_harness
from tests.correlate.test_grouping_identity import pagerduty

RULES = """
route:
  group_by: [alertname]
  routes:
    - name: databases
      matchers: ['source=~"db.*"']
      reopen_window: 1h
"""


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, sqlite_store: SQLiteStore) -> AsyncIterator[Store]:
    """A real SQLite store, and a real redis-server."""
    if request.param == "sqlite":
        yield sqlite_store
        return
    redis = RedisStore(request.getfixturevalue("redis_url"))
    await redis.open()
    try:
        yield redis
    finally:
        await redis.close()


async def test_a_resolve_after_a_restart_resolves_the_trigger_on_its_route(
    store: Store, tmp_path: Path
) -> None:
    rules = load_test_rules(tmp_path, RULES)
    first = make_harness(store, rules)
    await first.send(pagerduty("DB latency high", "db1", "db1-latency"))
    [opened] = await first.incidents()
    assert opened.route == "databases"
    # A new correlator (a restart): it never saw the trigger go by.
    second = make_harness(store, rules, member="c2")
    await second.send(pagerduty("", "", "db1-latency", action="acknowledge"))
    await second.send(pagerduty("", "", "db1-latency", action="resolve"))
    [incident] = await second.incidents()
    assert incident.id == opened.id
    assert incident.state is IncidentState.RESOLVED
    timeline = await second.timeline(incident)
    assert "source_acknowledged" in timeline


async def test_a_resolve_for_a_key_nobody_triggered_acts_on_nothing(
    sqlite_store: Store, tmp_path: Path
) -> None:
    harness = make_harness(sqlite_store, load_test_rules(tmp_path, RULES))
    await harness.send(pagerduty("", "", "never-triggered", action="resolve"))
    assert await harness.incidents() == []
