"""``duplicate`` is a merge's resolution code: a resolve by hand that says it is a 400
pointing at merge, since it would leave ``merged_into`` empty (on both stores)."""

from __future__ import annotations

import pytest

from tests.tocsin.actions_harness import Served, incident


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incidents 1 and 2 triggered."""
    served = served_on_each_store
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
