"""Problems through real HTTP on SQLite and on a real redis-server (``/api/v1/problems``).

Creating, linking, unlinking and updating problems; the incidents' ``problem_id`` and
timeline entries written with them; problem candidates from the rules' thresholds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, every_alert
from tests.app_harness import ENV, RESPONDER, RULES, START, VIEWER
from tests.contract.builders import make_incident
from tocsin.app import create_app
from tocsin.keys import STORE

Client = TestClient  # type: ignore[type-arg]

# Two recurrences within a week make a candidate in these tests (the default is 3 in 30d).
PROBLEM_RULES = RULES + "problems:\n  recurrence: {count: 2, within: 7d}\n"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def client(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application on each store, without a correlator, on a manual clock at START."""
    rules = tmp_path / "problems.yml"
    rules.write_text(PROBLEM_RULES)
    store: dict[str, object] = {}
    if request.param == "redis":
        store["store"] = request.getfixturevalue("redis_url")
    settings = make_settings(correlate=False, rules=rules, **store)
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


def recent(n: int, days_ago: float, **changes: Any) -> Incident:
    """Incident ``n``, opened ``days_ago`` days before the app's clock."""
    return make_incident(n, opened_at=START - timedelta(days=days_ago), **changes)


async def stored(client: Client, *incidents: Incident) -> None:
    """Commits the incidents as the correlator would."""
    await client.app[STORE].commit(
        CorrelationCommit(
            "test",
            incidents=incidents,
            heads=tuple(GroupHead(f"{i.group_key}#{i.id}", None, i.id) for i in incidents),
            alerts=every_alert(*incidents),
        )
    )


async def post(client: Client, path: str, body: object, status: int) -> dict[str, Any]:
    """POSTs ``body`` as a responder; insists on ``status``; returns the JSON answer."""
    response = await client.post(path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def create(client: Client, *incident_ids: str) -> dict[str, Any]:
    return await post(
        client, "/api/v1/problems", {"title": "Nightly latency", "incidents": incident_ids}, 201
    )


async def test_a_problem_created_from_incidents_names_them_and_they_name_it(
    client: Client,
) -> None:
    await stored(client, recent(1, 1), recent(2, 2))
    problem = await post(
        client,
        "/api/v1/problems",
        {"title": "Nightly latency", "incidents": ["inc-0001", "inc-0002"], "description": "d"},
        201,
    )
    assert problem["state"] == "new"
    assert problem["incidents"] == ["inc-0001", "inc-0002"]
    assert (problem["created_by"], problem["version"]) == ("ana", 1)
    assert problem["created_at"] == "2026-11-27T15:12:00Z"
    store = client.app[STORE]
    for incident_id in ("inc-0001", "inc-0002"):
        incident = await store.get_incident(incident_id)
        assert incident is not None
        assert incident.problem_id == problem["id"]
        [event] = await store.incident_events(incident_id)
        assert (event.kind, event.actor) == ("problem_linked", "ana")
        assert event.detail["problem_id"] == problem["id"]
    response = await client.get(f"/api/v1/problems/{problem['id']}", headers=VIEWER)
    assert response.status == 200
    assert await response.json() == problem


async def test_a_retried_creation_with_an_idempotency_key_creates_one_problem(
    client: Client,
) -> None:
    await stored(client, recent(1, 1), recent(2, 2))
    body = {"title": "Nightly latency", "incidents": ["inc-0001"]}
    headers = {**RESPONDER, "Idempotency-Key": "create-nightly-1"}

    first = await client.post("/api/v1/problems", json=body, headers=headers)
    retried = await client.post("/api/v1/problems", json=body, headers=headers)
    other = await client.post(
        "/api/v1/problems", json={**body, "title": "Another"}, headers=headers
    )
    unkeyed = await client.post(
        "/api/v1/problems", json={**body, "incidents": ["inc-0002"]}, headers=RESPONDER
    )

    assert (first.status, retried.status) == (201, 201)
    assert (await retried.json())["id"] == (await first.json())["id"]
    assert retried.headers["Idempotent-Replayed"] == "true"
    # The same key with another request is refused by name.
    assert other.status == 422
    assert (await other.json())["field"] == "Idempotency-Key"
    # Without a key every POST creates a problem.
    assert unkeyed.status == 201
    listed = await (await client.get("/api/v1/problems", headers=VIEWER)).json()
    assert len(listed["problems"]) == 2


async def test_concurrent_creations_with_one_idempotency_key_create_one_problem(
    client: Client,
) -> None:
    await stored(client, recent(1, 1))
    body = {"title": "Nightly latency", "incidents": ["inc-0001"]}
    headers = {**RESPONDER, "Idempotency-Key": "create-nightly-2"}

    answers = await asyncio.gather(
        *(client.post("/api/v1/problems", json=body, headers=headers) for _ in range(4))
    )

    assert {a.status for a in answers} == {201}
    assert len({(await a.json())["id"] for a in answers}) == 1
    listed = await (await client.get("/api/v1/problems", headers=VIEWER)).json()
    assert len(listed["problems"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # No title.
        ({"incidents": ["inc-0001"]}, "title"),
        # A title over the limit.
        ({"title": "x" * 201, "incidents": ["inc-0001"]}, "title"),
        # No incidents at all.
        ({"title": "t", "incidents": []}, "incidents"),
        # An incident that does not exist.
        ({"title": "t", "incidents": ["inc-0001", "inc-9999"]}, "incidents"),
        # An id that is not a string.
        ({"title": "t", "incidents": [7]}, "incidents[0]"),
        # A field the API does not know, named.
        ({"title": "t", "incidents": ["inc-0001"], "severity": 1}, "severity"),
        # Not an object.
        (["inc-0001"], "body"),
    ],
)
async def test_a_bad_creation_is_a_400_naming_the_field_and_writes_nothing(
    client: Client, body: object, field: str
) -> None:
    await stored(client, recent(1, 1))
    answer = await post(client, "/api/v1/problems", body, 400)
    assert answer["field"] == field
    listed = await client.get("/api/v1/problems", headers=VIEWER)
    assert (await listed.json())["problems"] == []
    incident = await client.app[STORE].get_incident("inc-0001")
    assert incident is not None
    assert incident.problem_id is None


async def test_a_viewer_may_read_but_not_create(client: Client) -> None:
    await stored(client, recent(1, 1))
    response = await client.post(
        "/api/v1/problems", json={"title": "t", "incidents": ["inc-0001"]}, headers=VIEWER
    )
    assert response.status == 403
    assert (await client.get("/api/v1/problems", headers=VIEWER)).status == 200
    assert (await client.get("/api/v1/problems")).status == 401


async def test_link_and_unlink_move_the_incident_and_record_both_in_its_timeline(
    client: Client,
) -> None:
    await stored(client, recent(1, 1), recent(2, 2))
    problem = await create(client, "inc-0001")
    path = f"/api/v1/problems/{problem['id']}"
    linked = await post(client, f"{path}/link", {"incident": "inc-0002"}, 200)
    assert (linked["incidents"], linked["version"]) == (["inc-0001", "inc-0002"], 2)
    # Linking again changes nothing: a retried request is harmless.
    again = await post(client, f"{path}/link", {"incident": "inc-0002"}, 200)
    assert again["version"] == 2
    unlinked = await post(client, f"{path}/unlink", {"incident": "inc-0001"}, 200)
    assert unlinked["incidents"] == ["inc-0002"]
    store = client.app[STORE]
    first = await store.get_incident("inc-0001")
    assert first is not None
    assert first.problem_id is None
    kinds = [e.kind for e in await store.incident_events("inc-0001")]
    assert kinds == ["problem_linked", "problem_unlinked"]
    # Unlinking what is not linked is a conflict naming the incident.
    answer = await post(client, f"{path}/unlink", {"incident": "inc-0001"}, 409)
    assert answer["field"] == "incident"


async def test_an_incident_of_another_problem_is_a_409_until_unlinked_there(
    client: Client,
) -> None:
    await stored(client, recent(1, 1), recent(2, 2))
    first = await create(client, "inc-0001")
    second = await create(client, "inc-0002")
    answer = await post(
        client, f"/api/v1/problems/{second['id']}/link", {"incident": "inc-0001"}, 409
    )
    assert first["id"] in answer["error"]
    await post(client, f"/api/v1/problems/{first['id']}/unlink", {"incident": "inc-0001"}, 200)
    await post(client, f"/api/v1/problems/{second['id']}/link", {"incident": "inc-0001"}, 200)


@pytest.mark.parametrize(
    ("steps", "status", "field"),
    [
        # Investigating, then a known error with its root cause and workaround.
        (
            [
                {"state": "investigating"},
                {"state": "known_error", "root_cause": "cron", "workaround": "restart"},
            ],
            200,
            None,
        ),
        # A known error needs its workaround.
        ([{"known_error": True, "root_cause": "cron"}], 400, "workaround"),
        # Resolving needs a root cause.
        ([{"state": "resolved"}], 400, "root_cause"),
        # Closed is final: nothing moves it (409, allowed: []).
        ([{"state": "closed"}, {"state": "investigating"}], 409, "state"),
        # A state that does not exist.
        ([{"state": "done"}], 400, "state"),
        # Nothing to update.
        ([{}], 400, "body"),
        # A field update does not take, named.
        ([{"incidents": []}], 400, "incidents"),
    ],
)
async def test_updates_follow_the_problem_lifecycle(
    client: Client, steps: list[dict[str, object]], status: int, field: str | None
) -> None:
    await stored(client, recent(1, 1))
    problem = await create(client, "inc-0001")
    path = f"/api/v1/problems/{problem['id']}/update"
    for step in steps[:-1]:
        await post(client, path, step, 200)
    answer = await post(client, path, steps[-1], status)
    if field is None:
        assert answer["state"] == "known_error"
        assert answer["known_error"] is True
        assert answer["allowed_states"] == ["investigating", "resolved", "closed"]
    else:
        assert answer["field"] == field
    if status == 409:
        assert answer["allowed"] == []


async def test_problems_list_by_state_newest_first(client: Client) -> None:
    await stored(client, recent(1, 1), recent(2, 2))
    first = await create(client, "inc-0001")
    second = await create(client, "inc-0002")
    await post(client, f"/api/v1/problems/{first['id']}/update", {"state": "closed"}, 200)
    response = await client.get("/api/v1/problems?state=new", headers=VIEWER)
    assert [p["id"] for p in (await response.json())["problems"]] == [second["id"]]
    response = await client.get("/api/v1/problems?state=closed&limit=1", headers=VIEWER)
    assert [p["id"] for p in (await response.json())["problems"]] == [first["id"]]


@pytest.mark.parametrize(
    ("method", "path", "status", "field"),
    [
        # An unknown state filter.
        ("GET", "/api/v1/problems?state=open", 400, "state"),
        # A limit out of range.
        ("GET", "/api/v1/problems?limit=0", 400, "limit"),
        # A parameter the list does not take.
        ("GET", "/api/v1/problems?sort=new", 400, "sort"),
        # No such problem.
        ("GET", "/api/v1/problems/nope", 404, "id"),
        # No such problem to act on.
        ("POST", "/api/v1/problems/nope/link", 404, "id"),
        # No such action.
        ("POST", "/api/v1/problems/nope/merge", 400, "action"),
        # The candidates take no parameter.
        ("GET", "/api/v1/problem-candidates?count=2", 400, "count"),
    ],
)
async def test_bad_requests_are_answered_like_the_rest_of_the_api(
    client: Client, method: str, path: str, status: int, field: str | None
) -> None:
    await stored(client, recent(1, 1))
    body = {"incident": "inc-0001"} if method == "POST" else None
    response = await client.request(method, path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    assert (await response.json()).get("field") == field


async def test_candidates_are_the_incidents_that_recur_within_the_rules_period(
    client: Client,
) -> None:
    group = '{}:{alertname="DiskFull"}'
    await stored(
        client,
        # The same group key three times in the week, once before it (not counted).
        recent(1, 1, group_key=group, category="storage", service="db"),
        recent(2, 3, group_key=group, category="storage", service="db"),
        recent(3, 5, group_key=group, category="storage", service="db"),
        recent(4, 8, group_key=group, category="storage", service="db"),
        # Another group of the same category and service: counts for that kind only.
        recent(5, 2, group_key="other", category="storage", service="db"),
        # Alone in its group and its category/service: no candidate.
        recent(6, 2, group_key="lonely", category="network", service="db"),
        # Recurring, but linked to a problem below: looked into already.
        recent(7, 1, group_key="linked"),
        recent(8, 2, group_key="linked"),
    )
    await create(client, "inc-0007", "inc-0008")
    response = await client.get("/api/v1/problem-candidates", headers=VIEWER)
    assert response.status == 200
    body = await response.json()
    assert body["recurrence"] == {"count": 2, "within": "1w"}
    assert body["since"] == "2026-11-20T15:12:00Z"
    assert body["candidates"] == [
        {
            "kind": "category_service",
            "category": "storage",
            "service": "db",
            "incidents": ["inc-0003", "inc-0002", "inc-0005", "inc-0001"],
            "count": 4,
            "first_opened_at": "2026-11-22T15:12:00Z",
            "last_opened_at": "2026-11-26T15:12:00Z",
        },
        {
            "kind": "group_key",
            "group_key": group,
            "incidents": ["inc-0003", "inc-0002", "inc-0001"],
            "count": 3,
            "first_opened_at": "2026-11-22T15:12:00Z",
            "last_opened_at": "2026-11-26T15:12:00Z",
        },
    ]


async def test_if_match_with_a_stale_etag_is_a_412_carrying_the_current_one(
    client: Client,
) -> None:
    await stored(client, recent(1, 1))
    problem = await create(client, "inc-0001")
    path = f"/api/v1/problems/{problem['id']}"
    response = await client.get(path, headers=VIEWER)
    assert response.headers["ETag"] == '"1"'
    fresh = {**RESPONDER, "If-Match": '"1"'}
    response = await client.post(f"{path}/update", json={"title": "a"}, headers=fresh)
    assert response.status == 200
    assert response.headers["ETag"] == '"2"'
    # The same If-Match again: someone (this client) changed it since.
    response = await client.post(f"{path}/update", json={"title": "b"}, headers=fresh)
    assert response.status == 412
    body = await response.json()
    assert (body["field"], body["etag"]) == ("If-Match", '"2"')
    response = await client.get(path, headers=VIEWER)
    assert (await response.json())["title"] == "a"
