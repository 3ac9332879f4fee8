"""The operator API's body caps follow the fields' own limits, escaped in the worst way.

A body within the documented field limits is never a 413 for its bytes, however its
JSON escapes the characters (``json.dumps`` writes each character outside the BMP as
two ``\\u`` escapes, 12 bytes); a body past the cap is a 413 naming the cap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.app_harness import RESPONDER
from tests.tocsin.actions_harness import Served, incident
from tocsin.openapi.document import build_document
from tocsin.operator import incident_actions, problems

# One character, 12 bytes once escaped: the worst case.
WIDE = "\U0001f600"


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incidents 1 and 2 triggered."""
    served = served_on_each_store
    await served.seed(incident(1), incident(2))
    return served


async def post_escaped(served: Served, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POSTs ``body`` as ``json.dumps`` writes it (every non-ASCII character escaped)."""
    raw = json.dumps(body)
    headers = {**RESPONDER, "Content-Type": "application/json"}
    response = await served.client.post(path, data=raw.encode(), headers=headers)
    return response.status, await response.json()


# (path, body): the longest text of each kind of body, every character escaped.
WITHIN: list[Any] = [
    # A note of 10,000 characters: 120,013 bytes.
    ("/api/v1/incidents/inc-0001/note", {"text": WIDE * 10_000}),
    # An assign's note at its limit beside a team.
    ("/api/v1/incidents/inc-0001/assign", {"team": "web", "note": WIDE * 10_000}),
    # A resolve's notes at their limit.
    ("/api/v1/incidents/inc-0001/resolve",
     {"resolution_code": "solved_permanently", "notes": WIDE * 10_000}),
    # A problem's creation: a title of 200 and a description of 10,000 characters.
    ("/api/v1/problems",
     {"title": WIDE * 200, "incidents": ["inc-0002"], "description": WIDE * 10_000}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body"), WITHIN)
async def test_a_body_within_the_field_limits_is_accepted(
    served: Served, path: str, body: dict[str, Any]
) -> None:
    status, answer = await post_escaped(served, path, body)
    assert status in (200, 201), answer


async def test_a_problem_update_of_two_full_texts_is_accepted(served: Served) -> None:
    status, problem = await post_escaped(
        served, "/api/v1/problems", {"title": "Disk fills", "incidents": ["inc-0001"]}
    )
    assert status == 201, problem
    body = {"title": WIDE * 200, "root_cause": WIDE * 10_000, "workaround": "\u00e9" * 10_000}
    status, answer = await post_escaped(served, f"/api/v1/problems/{problem['id']}/update", body)
    assert status == 200, answer
    assert answer["root_cause"] == WIDE * 10_000


# (path, cap): a body one byte past its endpoint's cap is a 413 that says the cap.
PAST: list[Any] = [
    ("/api/v1/incidents/inc-0001/note", incident_actions.MAX_BODY_BYTES),
    ("/api/v1/problems", problems.MAX_BODY_BYTES),
]


@pytest.mark.parametrize(("path", "cap"), PAST)
async def test_a_body_past_the_cap_is_413_naming_it(served: Served, path: str, cap: int) -> None:
    raw = b'{"text": "' + b"a" * cap + b'"}'
    headers = {**RESPONDER, "Content-Type": "application/json"}
    response = await served.client.post(path, data=raw, headers=headers)
    assert response.status == 413
    answer = await response.json()
    assert f"at most {cap} bytes" in json.dumps(answer)


def test_the_caps_are_documented_in_the_openapi_document_and_the_readme() -> None:
    document = build_document()
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    # (path of a POST, its cap)
    cases = [
        ("/api/v1/incidents/{id}/note", incident_actions.MAX_BODY_BYTES),
        ("/api/v1/incidents/{id}/tasks", incident_actions.MAX_BODY_BYTES),
        ("/api/v1/problems", problems.MAX_BODY_BYTES),
        ("/api/v1/problems/{id}/update", problems.MAX_BODY_BYTES),
    ]
    for path, cap in cases:
        body = document["paths"][path]["post"]["requestBody"]
        assert f"At most {cap} bytes" in body["description"], path
        assert f"A body is at most {cap:,} bytes" in readme, path
