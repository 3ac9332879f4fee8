"""``duplicate`` is a merge's resolution code: a resolve by hand that says it is a 400
pointing at merge, since it would leave ``merged_into`` empty (on both stores)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.settings import Settings
from tests.tocsin.actions_harness import Client, Served, incident, serve


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def served(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Served:
    url = None if request.param == "sqlite" else request.getfixturevalue("redis_url")
    served = await serve(aiohttp_client, make_settings, tmp_path, url)
    await served.seed(incident(1), incident(2))
    return served


async def test_resolving_as_duplicate_by_hand_is_a_400_naming_merge(served: Served) -> None:
    body = {"resolution_code": "duplicate", "notes": "same as inc-0002"}
    response = await served.post("/api/v1/incidents/inc-0001/resolve", body)
    assert response.status == 400, await response.text()
    [problem] = (await response.json())["problems"]
    assert problem["field"] == "resolution_code"
    assert "merge" in problem["reason"]
    assert await served.stream() == []  # nothing was written


async def test_a_merge_resolves_as_duplicate_with_merged_into(served: Served) -> None:
    await served.act("inc-0001", "merge", {"into": "inc-0002"})
    merged = await served.store.get_incident("inc-0001")
    assert merged is not None
    assert (merged.resolution_code, merged.merged_into) == ("duplicate", "inc-0002")
