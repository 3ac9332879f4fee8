"""A 400 for an action names every bad field: a value outside the rules' list beside
a shape fault (missing, empty, over-long) in the same answer, on both stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
    """A server on each store, with incident 1 triggered."""
    url = None if request.param == "sqlite" else request.getfixturevalue("redis_url")
    served = await serve(aiohttp_client, make_settings, tmp_path, url)
    await served.seed(incident(1))
    return served


# (action, body, the fields the 400 names, in the body's order of fields)
CASES: list[Any] = [
    # An unknown resolution code and empty notes: both.
    ("resolve", {"resolution_code": "nope", "notes": ""}, ["resolution_code", "notes"]),
    # An unknown priority and an empty reason: both.
    ("priority", {"priority": "P9", "reason": ""}, ["priority", "reason"]),
    # An unknown priority alone: named before anything is read or written.
    ("priority", {"priority": "P9", "reason": "customers see errors"}, ["priority"]),
    # An unknown code with notes missing.
    ("resolve", {"resolution_code": "nope"}, ["resolution_code", "notes"]),
]


@pytest.mark.parametrize(("action", "body", "fields"), CASES)
async def test_a_400_names_every_bad_field(
    served: Served, action: str, body: dict[str, str], fields: list[str]
) -> None:
    response = await served.post(f"/api/v1/incidents/inc-0001/{action}", body)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert [p["field"] for p in answer["problems"]] == fields
    reasons = {p["field"]: p["reason"] for p in answer["problems"]}
    if "priority" in reasons:
        assert reasons["priority"] == "'P9' is not one of P1, P2, P3, P4, P5"
    if "resolution_code" in reasons:
        assert reasons["resolution_code"].startswith("'nope' is not one of solved_permanently")
    assert await served.stream() == []  # nothing was written
