"""Fixtures of the Alertmanager API tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from tests.amapi.harness import AmApi, make_settings, start


@pytest.fixture
async def amapi(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    tmp_path: Path,
) -> AmApi:
    """An app serving the test rules, on SQLite, correlating inline on a manual clock."""
    return await start(aiohttp_client, make_settings(tmp_path))
