"""409s say what was refused in words, and a closed problem's lists what it allows: none."""

from __future__ import annotations

from typing import Any

import pytest

from core.incident import IncidentState
from tests.tocsin.actions_harness import Served, incident


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """Incident 1 closed, 2 and 3 triggered, on each store."""
    served = served_on_each_store
    await served.seed(incident(1, state=IncidentState.CLOSED), incident(2), incident(3))
    return served


ALLOWS = "; it allows: nothing (it is final)"
# (path after the closed incident's, body, the 409's error)
CLOSED_INCIDENT: list[Any] = [
    ("note", {"text": "x"}, "cannot add a note to an incident that is closed" + ALLOWS),
    ("priority", {"priority": "P1", "reason": "x"},
     "cannot change the priority of an incident that is closed" + ALLOWS),
    ("tasks", {"title": "x"}, "cannot add or complete tasks of an incident that is closed" + ALLOWS),
    # A verb is said as it is.
    ("assign", {"team": "web"}, "cannot assign an incident that is closed" + ALLOWS),
]  # fmt: skip


@pytest.mark.parametrize(("action", "body", "error"), CLOSED_INCIDENT)
async def test_a_409_says_the_action_in_words(
    served: Served, action: str, body: dict[str, str], error: str
) -> None:
    response = await served.post(f"/api/v1/incidents/inc-0001/{action}", body)
    assert response.status == 409
    answer = await response.json()
    assert answer["error"] == error
    assert (answer["state"], answer["allowed"]) == ("closed", [])


# (action on the closed problem, body, the error's end)
CLOSED_PROBLEM: list[Any] = [
    ("link", {"incident": "inc-0003"}, "it links no more incidents"),
    ("unlink", {"incident": "inc-0002"}, "its incidents stay"),
    ("update", {"title": "renamed"}, "it changes no more"),
]


@pytest.mark.parametrize(("action", "body", "end"), CLOSED_PROBLEM)
async def test_a_closed_problems_409_lists_no_allowed_state(
    served: Served, action: str, body: dict[str, str], end: str
) -> None:
    created = await served.post("/api/v1/problems", {"title": "Disk", "incidents": ["inc-0002"]})
    assert created.status == 201, await created.text()
    problem_id = (await created.json())["id"]
    closed = await served.post(f"/api/v1/problems/{problem_id}/update", {"state": "closed"})
    assert closed.status == 200, await closed.text()
    response = await served.post(f"/api/v1/problems/{problem_id}/{action}", body)
    assert response.status == 409
    answer = await response.json()
    assert answer["error"] == f"problem {problem_id} is closed: {end}"
    assert (answer["field"], answer["state"], answer["allowed"]) == ("state", "closed", [])
