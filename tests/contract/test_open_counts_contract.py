"""The open incidents counted by state and priority through the indexes, on both stores.

What the ``tocsin_incidents_open`` gauge shows: counted without reading an incident, so
that 100,000 stored incidents cost the server nothing it would feel every 30 seconds.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.incident import IncidentState
from core.store import CorrelationCommit, Store
from tests.contract.test_incident_list_contract import GROUP, INCIDENTS, create

S = IncidentState
MATRIX = ["P1", "P2", "P3", "P4", "P5"]


@pytest.mark.parametrize(
    ("priorities", "expected"),
    [
        # Every priority known: each open incident under its own (closed and resolved left out).
        (
            MATRIX,
            {
                (S.TRIGGERED, "P1"): 1,
                (S.ACKNOWLEDGED, "P2"): 1,
                (S.ON_HOLD, "P1"): 1,
                (S.TRIGGERED, None): 1,
            },
        ),
        # A priority the caller does not know counts under None, with those that have none.
        (
            ["P2", "P2"],
            {(S.TRIGGERED, None): 2, (S.ACKNOWLEDGED, "P2"): 1, (S.ON_HOLD, None): 1},
        ),
    ],
)
async def test_open_incidents_are_counted_by_state_and_priority(
    store: Store, priorities: list[str], expected: dict[tuple[IncidentState, str | None], int]
) -> None:
    await create(store, *INCIDENTS)
    assert await store.count_open_incidents(priorities) == expected


async def test_a_change_of_state_or_priority_moves_the_count(store: Store) -> None:
    await create(store, *INCIDENTS)
    acknowledged = replace(INCIDENTS[0], version=2, state=S.ACKNOWLEDGED, priority="P2")
    resolved = replace(INCIDENTS[5], version=2, state=S.RESOLVED)
    await store.commit(CorrelationCommit(GROUP, incidents=(acknowledged, resolved)))
    assert await store.count_open_incidents(MATRIX) == {
        (S.ACKNOWLEDGED, "P2"): 2,
        (S.ON_HOLD, "P1"): 1,
    }


async def test_an_empty_store_counts_nothing(store: Store) -> None:
    assert await store.count_open_incidents(MATRIX) == {}
