"""Attacks on the incident actions that found defects: each test failed before its fix.

Through real HTTP on SQLite and on a real redis-server.
"""

from __future__ import annotations

import asyncio

import pytest

from core.incident import Task
from core.incident_actions import MAX_TASKS
from core.store import IncidentSummary
from tests.app_harness import RESPONDER
from tests.tocsin.actions_harness import Served, incident


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incident 1 triggered (version 1)."""
    served = served_on_each_store
    await served.seed(incident(1))
    return served


async def test_two_concurrent_posts_with_one_idempotency_key_act_once(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second request looks its key up, then the first one acts and records it, then
    # the second reads the incident: it must find the record, not act a second time.
    store = served.store
    real_summary = store.incident_summary
    entered, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def held_first(incident_id: str) -> IncidentSummary | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            await release.wait()
        return await real_summary(incident_id)

    monkeypatch.setattr(store, "incident_summary", held_first)
    headers = {**RESPONDER, "Idempotency-Key": "note-1"}
    path = "/api/v1/incidents/inc-0001/note"
    second = asyncio.create_task(served.post(path, {"text": "x"}, headers))
    await entered.wait()
    first = await served.post(path, {"text": "x"}, headers)
    release.set()
    replayed = await second

    assert (first.status, replayed.status) == (200, 200)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert await replayed.read() == await first.read()
    assert [e.kind for e in await served.stream()] == ["note"]


# Authorization headers no key is in: each a 401 naming the header, never a 500.
BAD_AUTHORIZATION = [
    # Basic credentials with a character outside ASCII (b64decode's own ValueError).
    "Basic \u00ff",
    # Basic credentials that are not base64 at all.
    "Basic ***",
    # A bearer token no API key has.
    "Bearer wrong",
    # No scheme the API takes.
    "Token example",
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
async def test_an_authorization_header_without_a_key_is_a_401_naming_it(
    served: Served, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    listed = await served.client.get("/api/v1/incidents", headers=headers)
    acted = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    for response in (listed, acted):
        assert response.status == 401, await response.text()
        assert (await response.json())["field"] == "Authorization"
    assert await served.stream() == []


# If-Match headers naming the current version (1) that must not act; each a 412.
STALE_IF_MATCH = [
    # A weak tag never matches: If-Match compares strongly (RFC 9110, 13.1.1).
    'W/"1"',
    # Neither does a list of weak tags only.
    'W/"1", W/"2"',
    # Another version.
    '"2"',
]


@pytest.mark.parametrize("if_match", STALE_IF_MATCH)
async def test_an_if_match_that_does_not_strongly_match_is_a_412(
    served: Served, if_match: str
) -> None:
    headers = {**RESPONDER, "If-Match": if_match}
    response = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    assert response.status == 412, await response.text()
    assert (await response.json())["etag"] == '"1"'
    assert await served.stream() == []


async def test_a_list_holding_the_current_strong_tag_acts(served: Served) -> None:
    # A weak tag beside it does not spoil the match.
    headers = {**RESPONDER, "If-Match": 'W/"7", "1"'}
    response = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    assert response.status == 200, await response.text()
    assert [e.kind for e in await served.stream()] == ["note"]


async def test_an_incident_holds_at_most_max_tasks(served: Served) -> None:
    # Each task rides in every write and list page of its incident: a loop adding tasks
    # made both slower without end (3,000 tasks: 2 MB per page, 90 ms per write).
    at = served.clock.now()
    tasks = tuple(Task(str(n), f"task {n}", "person", "ana", at) for n in range(1, MAX_TASKS + 1))
    await served.seed(incident(2, tasks=tasks))

    response = await served.post("/api/v1/incidents/inc-0002/tasks", {"title": "one more"})

    assert response.status == 409, await response.text()
    assert (await response.json())["field"] == "tasks"
    assert await served.stream() == []


# Requests naming an incident or a problem that does not exist: each a 404 naming ``id``.
UNKNOWN = [
    # The incident's detail.
    ("GET", "/api/v1/incidents/nope", None),
    # An action on it.
    ("POST", "/api/v1/incidents/nope/note", {"text": "x"}),
    # A problem.
    ("GET", "/api/v1/problems/nope", None),
    # An action on a problem.
    ("POST", "/api/v1/problems/nope/update", {"title": "x"}),
    ("GET", "/api/v1/incidents/nope/report", None),
]


@pytest.mark.parametrize(("method", "path", "body"), UNKNOWN)
async def test_an_unknown_id_is_a_404_naming_the_id(
    served: Served, method: str, path: str, body: object
) -> None:
    response = await served.client.request(method, path, json=body, headers=RESPONDER)

    assert response.status == 404, await response.text()
    assert (await response.json())["field"] == "id"


async def test_a_body_of_unknown_fields_is_answered_briefly(served: Served) -> None:
    # 7,000 unknown fields in 58 KB came back as 670 KB of problems, and a 60,000
    # character name twice over: the answer lists 50, names cut, and counts the rest.
    # (301 unknown fields here, the long name first.)
    body = {"k" * 60_000: 0} | {f"{n:x}": 0 for n in range(300)} | {"text": "x"}
    response = await served.post("/api/v1/incidents/inc-0001/note", body)

    assert response.status == 400
    answer = await response.json()
    assert len(answer["problems"]) == 50
    assert answer["unlisted"] == 251
    assert answer["field"] == "k" * 200 + "…"
    assert len(await response.read()) < 20_000


async def test_a_chain_of_merges_sends_every_merged_group_to_the_last_incident(
    served: Served,
) -> None:
    # 1 into 2, then 2 into 3: group 1's head stayed on 2 (resolved, merged), so group
    # 1's alerts went on to 2, and 3 kept 1's copy firing and never resolved itself.
    await served.seed(incident(2), incident(3))
    await served.act("inc-0001", "merge", {"into": "inc-0002"})

    await served.act("inc-0002", "merge", {"into": "inc-0003"})

    for n in (1, 2, 3):
        head = await served.store.incident_for_group(incident(n).group_key)
        assert head is not None
        assert head.id == "inc-0003", n


# Query parameters a detail page does not take, or takes once: each a 400 naming it.
BAD_PAGE_PARAMS = [
    # A GET of the detail with a misspelt parameter (it was ignored).
    ("GET", "/api/v1/incidents/inc-0001?timeline_limt=5", "timeline_limt"),
    # The same on an action's answer, which acted anyway.
    ("POST", "/api/v1/incidents/inc-0001/note?alert_limit=5", "alert_limit"),
    # A parameter given twice (the first one was used).
    ("GET", "/api/v1/incidents/inc-0001?timeline_cursor=1&timeline_cursor=2", "timeline_cursor"),
]


@pytest.mark.parametrize(("method", "path", "field"), BAD_PAGE_PARAMS)
async def test_a_detail_page_refuses_parameters_it_does_not_take(
    served: Served, method: str, path: str, field: str
) -> None:
    body = {"text": "x"} if method == "POST" else None
    response = await served.client.request(method, path, json=body, headers=RESPONDER)

    assert response.status == 400, await response.text()
    assert (await response.json())["field"] == field
    assert await served.stream() == []
