"""``q`` with non-ASCII text, percent-encoded as the README writes it, finds the titles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from yarl import URL

from core.settings import Settings
from tests.app_harness import VIEWER
from tests.tocsin.actions_harness import Client, Served, incident, serve

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def served(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Served:
    url = None if request.param == "sqlite" else request.getfixturevalue("redis_url")
    served = await serve(aiohttp_client, make_settings, tmp_path, url)
    await served.seed(incident(1, title="STRASSE closed"), incident(2, title="Other"))
    return served


async def test_the_readmes_percent_encoded_q_finds_the_title(served: Served) -> None:
    encoded = "q=stra%C3%9Fe"
    assert encoded in README.read_text()
    url = URL(f"/api/v1/incidents?{encoded}", encoded=True)
    response = await served.client.get(url, headers=VIEWER)
    assert response.status == 200
    assert [i["id"] for i in (await response.json())["incidents"]] == ["inc-0001"]
