"""``GET /api/v1/incidents``: its filters, its pages by ``next`` link, its 400s (issue 10).

Through real HTTP on the app's SQLite store; the stores' side of every filter is the
contract suite's (tests/contract/test_incident_list_contract.py, both stores).
"""

from __future__ import annotations

from typing import Any

import pytest

from core.store import CorrelationCommit, GroupHead, every_alert
from tests.app_harness import VIEWER, Ingest
from tests.contract.test_incident_list_contract import INCIDENTS, ids
from tocsin.keys import STORE


async def create_incidents(ingest: Ingest) -> None:
    await ingest.client.app[STORE].commit(
        CorrelationCommit(
            "test",
            incidents=tuple(INCIDENTS),
            heads=tuple(GroupHead(i.group_key, None, i.id) for i in INCIDENTS),
            alerts=every_alert(*INCIDENTS),
        )
    )


async def get(ingest: Ingest, url: str) -> tuple[int, dict[str, Any]]:
    response = await ingest.client.get(url, headers=VIEWER)
    return response.status, await response.json()


@pytest.mark.parametrize(
    ("query", "want"),
    [
        # Each filter alone (the six incidents of the contract suite).
        ("state=triggered", ids(6, 1)),
        ("priority=P1,P3", ids(4, 3, 1)),
        ("service=search,%20eu", ids(5)),
        ("team=web", ids(4, 2, 1)),
        ("category=performance", ids(3, 1)),
        ("assignee=alice", ids(4, 2)),
        ("since=2024-03-10T02:04:59.123456Z", ids(6, 5)),
        ("until=2024-03-10T02:01:59.123456Z", ids(1)),
        ("q=latency", ids(5, 1)),
        # FTS5 syntax and a NUL are text like any other.
        ("q=%22x%22%20OR%20y*", []),
        ("q=web%00", []),
        # Combined: all must hold.
        ("state=open&team=web&q=A", ids(4, 1)),
        ("priority=P1&assignee=alice", ids(4)),
    ],
)
async def test_each_filter_lists_its_incidents_newest_first(
    ingest: Ingest, query: str, want: list[str]
) -> None:
    await create_incidents(ingest)
    status, body = await get(ingest, f"/api/v1/incidents?{query}")
    assert status == 200, body
    assert [i["id"] for i in body["incidents"]] == want
    assert body["next"] is None


async def test_next_links_walk_every_page_with_the_same_filters(ingest: Ingest) -> None:
    await create_incidents(ingest)
    url: str | None = "/api/v1/incidents?team=web&limit=2"
    pages = []
    while url is not None:
        status, body = await get(ingest, url)
        assert status == 200, body
        pages.append([i["id"] for i in body["incidents"]])
        url = body["next"]
        # A relative link that keeps the filters.
        assert url is None or (url.startswith("/api/v1/incidents?") and "team=web" in url)
    assert pages == [ids(4, 2), ids(1)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        # A state or priority that does not exist.
        ("state=reopened", "state"),
        ("priority=P9", "priority"),
        ("priority=", "priority"),
        # A parameter the list does not have.
        ("severity=critical", "severity"),
        # A filter given twice.
        ("team=web&team=db", "team"),
        # Empty and overlong names and title texts.
        ("team=", "team"),
        ("q=" + "x" * 201, "q"),
        # A cursor that no next link gave.
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=%25%25", "cursor"),
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
    ],
)
async def test_a_bad_parameter_is_a_400_naming_it(ingest: Ingest, query: str, field: str) -> None:
    status, body = await get(ingest, f"/api/v1/incidents?{query}")
    assert status == 400
    assert body["field"] == field
