"""``POST /api/v1/incidents/{id}/{action}``: every action through real HTTP, on both stores.

Each action answers the incident as GET shows it, with its ETag, records its timeline
event, and puts it in the incident event stream in the same write.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.incident import IncidentState
from tests.app_harness import ADMIN, VIEWER, without_stage_notes
from tests.tocsin.actions_harness import Served, incident

TRIGGERED = IncidentState.TRIGGERED


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incident 1 triggered (version 1)."""
    served = served_on_each_store
    await served.seed(incident(1))
    return served


# (state the incident is brought to first, action, body, fields of the answer, event kind)
ACTIONS: list[Any] = [
    # Acknowledge records who.
    ([], "acknowledge", {"note": "on it"}, {"state": "acknowledged", "acknowledged_by": "ana"},
     "acknowledged"),
    # A hold keeps its reason and when it began.
    ([], "hold", {"reason": "waiting on the vendor"},
     {"state": "on_hold", "hold_reason": "waiting on the vendor"}, "on_hold"),
    # Resume goes back to where the hold began.
    ([("hold", {"reason": "vendor"})], "resume", None, {"state": "triggered", "hold_reason": None},
     "resumed"),
    # Resolve takes a code from the rules' list and notes.
    ([], "resolve", {"resolution_code": "solved_workaround", "notes": "restarted"},
     {"state": "resolved", "resolved_by": "ana", "resolution_code": "solved_workaround",
      "resolution_notes": "restarted", "auto_resolved": False}, "resolved"),
    # Close confirms a resolved incident.
    ([("resolve", {"resolution_code": "solved_permanently", "notes": "n"})], "close", {},
     {"state": "closed", "closed_by": "ana", "allowed_actions": []}, "closed"),
    # Reopen goes back to triggered, counted.
    ([("resolve", {"resolution_code": "solved_permanently", "notes": "n"})], "reopen",
     {"reason": "it is back"}, {"state": "triggered", "reopen_count": 1, "resolved_by": None},
     "reopened"),
    # Assign to a team and a person of the rules.
    ([], "assign", {"team": "dba", "person": "ben"}, {"team": "dba", "assignee": "ben"},
     "assigned"),
    # A note changes nothing but the timeline.
    ([], "note", {"text": "looks like the disk"}, {"state": "triggered"}, "note"),
    # A priority change needs a reason.
    ([], "priority", {"priority": "P1", "reason": "checkout is down"}, {"priority": "P1"},
     "priority_changed"),
]


@pytest.mark.parametrize(("before", "action", "body", "fields", "kind"), ACTIONS)
async def test_each_action_answers_the_incident_and_records_its_event(
    served: Served,
    before: list[tuple[str, dict[str, str]]],
    action: str,
    body: dict[str, str] | None,
    fields: dict[str, object],
    kind: str,
) -> None:
    for earlier, earlier_body in before:
        await served.act("inc-0001", earlier, earlier_body)
    await served.stream()

    response = await served.post(f"/api/v1/incidents/inc-0001/{action}", body)

    assert response.status == 200, await response.text()
    answer = await response.json()
    assert {k: answer[k] for k in fields} == fields
    version = 2 + len(before)
    assert (answer["version"], answer["etag"]) == (version, f'"{version}"')
    assert response.headers["ETag"] == f'"{version}"'
    assert answer["timeline"][-1]["kind"] == kind
    assert answer["timeline"][-1]["actor"] == "ana"
    [event] = await served.stream()
    assert (event.incident_id, event.kind, event.version) == ("inc-0001", kind, version)
    # The answer is what GET shows now, ETag included.
    got = await served.client.get("/api/v1/incidents/inc-0001", headers=VIEWER)
    assert got.headers["ETag"] == f'"{version}"'
    # (Paging notes may land between the two reads; they bump no version.)
    assert without_stage_notes(await got.json()) == without_stage_notes(answer)


async def test_the_list_and_the_detail_carry_the_lifecycle_fields(served: Served) -> None:
    await served.act("inc-0001", "hold", {"reason": "vendor"})
    listed = await served.client.get("/api/v1/incidents", headers=VIEWER)
    [item] = (await listed.json())["incidents"]
    for name in (
        "version", "etag", "allowed_actions", "assignee", "team", "acknowledged_at",
        "acknowledged_by", "resolved_at", "resolved_by", "resolution_code", "resolution_notes",
        "auto_resolved", "closed_at", "closed_by", "hold_reason", "on_hold_since",
        "reopen_count", "tasks", "problem_id", "merged_into",
    ):
        assert name in item, name
    assert item["allowed_actions"] == ["resume", "resolve", "merge", "assign", "priority",
                                       "note", "tasks"]
    assert (item["hold_reason"], item["on_hold_since"]) == ("vendor", "2026-11-27T15:12:00Z")
    assert (item["problem_id"], item["merged_into"], item["tasks"]) == (None, None, [])


async def test_an_action_the_state_does_not_allow_is_a_409_listing_the_allowed(
    served: Served,
) -> None:
    await served.act("inc-0001", "resolve", {"resolution_code": "not_reproducible", "notes": "n"})

    response = await served.post("/api/v1/incidents/inc-0001/acknowledge", {})

    assert response.status == 409
    body = await response.json()
    assert (body["state"], body["allowed"]) == ("resolved", ["close", "reopen", "note", "tasks"])
    # Assign is for open incidents only: the same answer.
    assigned = await served.post("/api/v1/incidents/inc-0001/assign", {"team": "web"})
    assert assigned.status == 409
    assert (await assigned.json())["allowed"] == ["close", "reopen", "note", "tasks"]


@pytest.mark.parametrize(
    ("action", "body", "fields"),
    [
        # A required field missing.
        ("hold", {}, ["reason"]),
        # An unknown field, named.
        ("acknowledge", {"notes": "x"}, ["notes"]),
        # Over the size limit (notes: 10,000 characters).
        ("note", {"text": "x" * 10_001}, ["text"]),
        # An assign with neither team nor person names both.
        ("assign", {"note": "x"}, ["team", "person"]),
        # A team and a person the rules do not define.
        ("assign", {"team": "nope", "person": "zoe"}, ["team", "person"]),
        # A priority the matrix does not have.
        ("priority", {"priority": "P9", "reason": "r"}, ["priority"]),
        # A resolution code not in the rules' list.
        ("resolve", {"resolution_code": "magic", "notes": "n"}, ["resolution_code"]),
        # No such action.
        ("page-everyone", {}, ["action"]),
        # Not an object.
        ("note", ["text"], ["body"]),
    ],
)
async def test_bad_fields_are_a_400_naming_each(
    served: Served, action: str, body: object, fields: list[str]
) -> None:
    response = await served.post(f"/api/v1/incidents/inc-0001/{action}", body)

    assert response.status == 400, await response.text()
    answer = await response.json()
    assert [p["field"] for p in answer["problems"]] == fields
    assert await served.stream() == []  # nothing was written


async def test_a_viewer_key_is_a_403_and_an_admin_may_act(served: Served) -> None:
    response = await served.post("/api/v1/incidents/inc-0001/acknowledge", {}, VIEWER)
    assert response.status == 403
    assert (await response.json())["required_role"] == "responder"
    admin = await served.post("/api/v1/incidents/inc-0001/acknowledge", {}, ADMIN)
    assert (await admin.json())["acknowledged_by"] == "root"


async def test_an_unknown_incident_is_a_404(served: Served) -> None:
    response = await served.post("/api/v1/incidents/inc-9999/acknowledge", {})
    assert response.status == 404
    assert (await response.json())["field"] == "id"


async def test_a_stale_if_match_is_a_412_with_the_current_etag(served: Served) -> None:
    await served.act("inc-0001", "note", {"text": "first"})  # version 2 now

    stale = await served.post(
        "/api/v1/incidents/inc-0001/acknowledge", {}, {**ADMIN, "If-Match": '"1"'}
    )
    current = await served.post(
        "/api/v1/incidents/inc-0001/acknowledge", {}, {**ADMIN, "If-Match": '"2"'}
    )

    assert stale.status == 412
    assert (await stale.json())["etag"] == '"2"'
    assert current.status == 200
    assert (await current.json())["version"] == 3


async def test_a_malformed_if_match_is_a_400_naming_it(served: Served) -> None:
    response = await served.post(
        "/api/v1/incidents/inc-0001/acknowledge", {}, {**ADMIN, "If-Match": "2"}
    )
    assert response.status == 400
    assert (await response.json())["field"] == "If-Match"
