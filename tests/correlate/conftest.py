"""Fixtures: a correlator harness on SQLite (and on Redis where a test asks for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from rules.correlation import Tuning
from tests.correlate.harness import Harness, load_test_rules, make_harness


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def harness_with(sqlite_store: SQLiteStore, tmp_path: Path) -> Callable[..., Harness]:
    """Builds a harness with the given tuning on a fresh SQLite store."""

    def build(tuning: Tuning | None = None) -> Harness:
        return make_harness(sqlite_store, load_test_rules(tmp_path), tuning)

    return build


@pytest.fixture
def harness(harness_with: Callable[..., Harness]) -> Harness:
    """A harness with the default tuning."""
    return harness_with()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def harness_on_each(
    request: pytest.FixtureRequest, sqlite_store: SQLiteStore, tmp_path: Path
) -> AsyncIterator[Harness]:
    """The default harness on SQLite, and on a real redis-server."""
    if request.param == "sqlite":
        yield make_harness(sqlite_store, load_test_rules(tmp_path))
        return
    store = RedisStore(request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield make_harness(store, load_test_rules(tmp_path))
    finally:
        await store.close()
