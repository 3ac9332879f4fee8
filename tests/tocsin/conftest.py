"""Fixtures shared by the incident action tests (tests.tocsin.actions_harness)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.settings import Settings
from tests.tocsin.actions_harness import Client, Served, serve


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def served_on_each_store(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Served:
    """The action tests' server, once on SQLite and once on a real redis-server, unseeded."""
    url = None if request.param == "sqlite" else request.getfixturevalue("redis_url")
    return await serve(aiohttp_client, make_settings, tmp_path, url)
