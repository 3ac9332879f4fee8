"""A 400 for an action names every bad field: a value outside the rules' list beside
a shape fault (missing, empty, over-long) in the same answer, on both stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tocsin.actions_harness import Served, incident


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incident 1 triggered."""
    served = served_on_each_store
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
