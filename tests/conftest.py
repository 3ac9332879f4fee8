"""Fixtures shared by every test suite; the logic behind them lives in helper modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import app_harness
from tests.redis_server import RedisServer
from tests.support import require_binary


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the whole session (AOF on, fsync always)."""
    binary = require_binary("redis-server", "redis-server")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's redis-server, emptied for this test."""
    redis_server.flushall()
    return redis_server.url


make_settings = pytest.fixture(app_harness.make_settings_fixture, name="make_settings")
ingest = pytest.fixture(app_harness.ingest_fixture, name="ingest")
