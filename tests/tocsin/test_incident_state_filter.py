"""``GET /api/v1/incidents?state=open`` selects every open incident (report item 1).

The README's queries must not lose an incident to a state they do not name: a reopened
incident is ``triggered`` again, an ``on_hold`` one is still open. One incident in each
state is committed to the app's real SQLite store and listed through real HTTP.
"""

from __future__ import annotations

import pytest

from core.incident import IncidentState
from core.store import CorrelationCommit, GroupHead, every_alert
from tests.app_harness import VIEWER, Ingest
from tests.contract.builders import make_incident
from tocsin.keys import STORE

# One incident per state; a reopened one reads as triggered, counted.
INCIDENTS = [
    make_incident(1, state=IncidentState.TRIGGERED),
    make_incident(2, state=IncidentState.TRIGGERED, reopen_count=1),
    make_incident(3, state=IncidentState.ACKNOWLEDGED),
    make_incident(4, state=IncidentState.ON_HOLD),
    make_incident(5, state=IncidentState.RESOLVED),
    make_incident(6, state=IncidentState.CLOSED),
]


async def listed(ingest: Ingest, query: str) -> set[str]:
    """The ids ``GET /api/v1/incidents?{query}`` lists; insists on 200."""
    response = await ingest.client.get(f"/api/v1/incidents?{query}", headers=VIEWER)
    assert response.status == 200, await response.text()
    return {i["id"] for i in (await response.json())["incidents"]}


@pytest.mark.parametrize(
    ("query", "want"),
    [
        # Every open state: triggered (reopened too), acknowledged, on hold.
        ("state=open", {"inc-0001", "inc-0002", "inc-0003", "inc-0004"}),
        # A reopened incident is triggered again.
        ("state=triggered", {"inc-0001", "inc-0002"}),
        # The alias combines with names.
        ("state=open,resolved", {"inc-0001", "inc-0002", "inc-0003", "inc-0004", "inc-0005"}),
        ("state=closed", {"inc-0006"}),
    ],
)
async def test_state_open_selects_every_open_incident(
    ingest: Ingest, query: str, want: set[str]
) -> None:
    await ingest.client.app[STORE].commit(
        CorrelationCommit(
            "test",
            incidents=tuple(INCIDENTS),
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in INCIDENTS),
            alerts=every_alert(*INCIDENTS),
        )
    )
    assert await listed(ingest, query) == want


async def test_an_unknown_state_is_a_400_that_lists_open_among_the_choices(
    ingest: Ingest,
) -> None:
    response = await ingest.client.get("/api/v1/incidents?state=reopened", headers=VIEWER)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "state"
    assert "open" in body["error"].split("use ", 1)[1].split(", ")
