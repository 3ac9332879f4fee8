"""Cursors are self-checking: only one a next link of the same pages gave is taken.

A made-up cursor, even a well-formed one, one from another filter, or an alerts cursor
of another incident is a 400 naming the parameter, on the list and on an incident's
pages alike (before, a made-up one was a 200 with an empty or a wrong page).
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import orjson
import pytest
from yarl import URL

from core.incident import IncidentState
from tests.app_harness import VIEWER
from tests.tocsin.actions_harness import Served, incident

CLOSED = IncidentState.CLOSED


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """Incidents 1-4 (2 and 4 closed), incident 1 with three alerts, on each store."""
    served = served_on_each_store
    first = incident(1)
    [template] = first.alerts.values()
    alerts = {f: replace(template, fingerprint=f) for f in ("a" * 16, "b" * 16, "c" * 16)}
    await served.seed(
        replace(first, alerts=alerts),
        incident(2, state=CLOSED),
        incident(3),
        incident(4, state=CLOSED),
    )
    return served


async def get(served: Served, url: str) -> tuple[int, dict[str, Any]]:
    response = await served.client.get(url, headers=VIEWER)
    body: dict[str, Any] = await response.json()
    return response.status, body


def made_up(position: object) -> str:
    """A well-formed cursor of the kind the list gave before cursors were checked."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).rstrip(b"=").decode()


def fields(body: dict[str, Any]) -> list[str]:
    return [p["field"] for p in body["problems"]]


async def next_cursor(served: Served, url: str, key: str = "cursor") -> str:
    status, body = await get(served, url)
    assert status == 200, body
    link = body["next"] if key == "cursor" else body["alerts_page"]["next"]
    return URL(link).query[key]


# (query of the list a cursor is used on, given a next link's cursor of ?limit=1) -> status
LIST_CASES: list[Any] = [
    # The same filters: the next page.
    ("limit=1", 200),
    # Another limit: the same list, in pages of another size.
    ("limit=2", 200),
    # Another time window: the same list (a CLI --since 24h is a new instant each run).
    ("limit=1&since=2020-01-01T00:00:00Z", 200),
    # Another filter: a cursor of another list.
    ("limit=1&state=closed", 400),
    ("limit=1&q=latency", 400),
]


@pytest.mark.parametrize(("query", "status"), LIST_CASES)
async def test_a_list_cursor_is_taken_on_its_own_list_only(
    served: Served, query: str, status: int
) -> None:
    cursor = await next_cursor(served, "/api/v1/incidents?limit=1")
    got, body = await get(served, f"/api/v1/incidents?{query}&cursor={cursor}")
    assert got == status, body
    if status == 400:
        assert fields(body) == ["cursor"]


async def test_open_and_its_three_states_are_one_list(served: Served) -> None:
    cursor = await next_cursor(served, "/api/v1/incidents?limit=1&state=open")
    url = f"/api/v1/incidents?limit=1&state=on_hold,triggered,acknowledged&cursor={cursor}"
    status, body = await get(served, url)
    assert status == 200, body
    assert [i["id"] for i in body["incidents"]] == ["inc-0001"]


# (URL, the parameter the 400 names): cursors that no next link gave.
MADE_UP: list[Any] = [
    # A list position, well formed, as the list's cursors were: 200 and empty before.
    (f"/api/v1/incidents?cursor={made_up([0, 'zzz'])}", "cursor"),
    # A fingerprint as an alerts cursor: 200 and empty before.
    ("/api/v1/incidents/inc-0001?alerts_cursor=zzz", "alerts_cursor"),
    ("/api/v1/incidents/inc-0001?alerts_cursor=" + "a" * 16, "alerts_cursor"),
    # A timeline position past the end (the timeline holds none): 200 and empty before.
    ("/api/v1/incidents/inc-0001?timeline_cursor=5", "timeline_cursor"),
    # A public incidents' list position, well formed, as its cursors were.
    (f"/api/v1/status/incidents?cursor={made_up([0, 'zzz'])}", "cursor"),
]


@pytest.mark.parametrize(("url", "field"), MADE_UP)
async def test_a_made_up_cursor_is_a_400_naming_it(served: Served, url: str, field: str) -> None:
    status, body = await get(served, url)
    assert status == 400, body
    assert fields(body) == [field]


async def test_an_alerts_cursor_of_another_incident_is_a_400(served: Served) -> None:
    url = "/api/v1/incidents/inc-0001?alerts_limit=1"
    cursor = await next_cursor(served, url, "alerts_cursor")
    # On its own incident: the second alert.
    status, body = await get(served, f"{url}&alerts_cursor={cursor}")
    assert status == 200, body
    assert [a["fingerprint"] for a in body["alerts"]] == ["b" * 16]
    assert body["alerts_page"]["cursor"] == cursor
    status, body = await get(served, f"/api/v1/incidents/inc-0003?alerts_cursor={cursor}")
    assert status == 400, body
    assert fields(body) == ["alerts_cursor"]


async def test_an_actions_answer_links_cursors_its_incident_takes(served: Served) -> None:
    answer = await served.act("inc-0001", "note", {"text": "looking"})
    assert answer["alerts_page"]["next"] is None  # 100 a page: all three shown
    response = await served.post("/api/v1/incidents/inc-0001/note?alerts_limit=1", {"text": "x"})
    link = (await response.json())["alerts_page"]["next"]
    status, body = await get(served, link)
    assert status == 200, body
    assert [a["fingerprint"] for a in body["alerts"]] == ["b" * 16]
