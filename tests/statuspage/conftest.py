"""Fixtures of the status page's data side: each store test runs on SQLite and on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from rules.loader import load_rules
from rules.model import Rules
from tests.contract.builders import StoreOpener

RULES = Path(__file__).with_name("rules.yml")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreOpener:
    """Opens a new client on the same backend and data each time it is called."""
    if request.param == "sqlite":
        path = tmp_path / "tocsin.db"

        async def open_sqlite() -> Store:
            sqlite_store = SQLiteStore(path)
            await sqlite_store.open()
            return sqlite_store

        return open_sqlite
    url: str = request.getfixturevalue("redis_url")

    async def open_redis() -> Store:
        redis_store = RedisStore(url)
        await redis_store.open()
        return redis_store

    return open_redis


@pytest.fixture
async def store(open_store: StoreOpener) -> AsyncIterator[Store]:
    """An open store on an empty database, closed after the test."""
    opened = await open_store()
    yield opened
    await opened.close()


@pytest.fixture
def rules() -> Rules:
    """The test page: website, search, checkout and card payments (Europe/Berlin)."""
    return load_rules(RULES, {})
