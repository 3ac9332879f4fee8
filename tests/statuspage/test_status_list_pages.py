"""The status API's lists page with a cursor and a ``next`` link, on SQLite and Redis."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from core.clock import ManualClock
from core.settings import Settings
from core.store.events import ConsumerWrite, EventBatch
from statuspage import records as rec
from statuspage.records import IncidentRecord
from tests.app_harness import RESPONDER, RULES, START, VIEWER
from tests.statuspage.harness import page_app
from tests.statuspage.test_status_api import INCIDENTS, MAINTENANCES
from tocsin.keys import CLOCK, STORE

Client = TestClient  # type: ignore[type-arg]

# The test page's rules, with its one maintenance window (on checkout) ahead of START.
PAGE_RULES = RULES + Path(__file__).with_name("rules.yml").read_text().replace(
    "2026-03-10", "2026-12-10"
)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def client(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application on each store, without a correlator, on a manual clock at START."""
    return await page_app(request, aiohttp_client, make_settings, tmp_path, PAGE_RULES)


async def post(client: Client, path: str, body: object) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=RESPONDER)
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def get(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(path, headers=VIEWER)
    assert response.status == status, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def new_incident(client: Client, name: str) -> str:
    """Publishes an incident a minute after the last one; its id."""
    clock: ManualClock = client.app[CLOCK]  # type: ignore[assignment]
    clock.advance(timedelta(minutes=1))
    body = {"name": name, "body": "Looking into it.", "components": ["search"]}
    return str((await post(client, INCIDENTS, body))["id"])


async def new_maintenance(client: Client, name: str, hours_ahead: float) -> str:
    """Schedules a one-hour maintenance starting that long after now; its id."""
    start = client.app[CLOCK].now() + timedelta(hours=hours_ahead)
    body = {
        "name": name,
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        "components": ["search"],
    }
    return str((await post(client, MAINTENANCES, body))["id"])


async def copies_at_the_same_instant(client: Client, public_id: str, ids: list[str]) -> None:
    """Stores copies of a public incident under other ids, created at the same instant
    (as the writer files them): ties of the order, which the cursor's id separates."""
    store = client.app[STORE]
    raw = (await store.consumer_documents(rec.INCIDENTS, [public_id]))[public_id]
    record = IncidentRecord.decode(raw)
    due = rec.newest_first_due(record.incident.created_at)
    writes = [
        ConsumerWrite(
            rec.INCIDENTS, i, replace(record, incident=replace(record.incident, id=i)).encode(), due
        )
        for i in ids
    ]
    await store.commit_events(EventBatch("test", "test", None), writes)


async def walk(
    client: Client, first: str, field: str, between: Callable[[int], Awaitable[None]]
) -> list[dict[str, Any]]:
    """Every item of a list by its ``next`` links; ``between(n)`` runs after page n."""
    items: list[dict[str, Any]] = []
    link: str | None = first
    pages = 0
    while link is not None:
        answer = await get(client, link)
        assert len(answer[field]) <= 2  # the page's limit
        items.extend(answer[field])
        link = answer["next"]
        pages += 1
        await between(pages)
        assert pages < 50, "the walk does not end"
    return items


async def test_walking_the_incidents_by_next_lists_each_once_while_more_are_published(
    client: Client,
) -> None:
    # Before, the list had no cursor: only its newest 100 could ever be listed.
    ids = [await new_incident(client, f"Incident {n}") for n in range(5)]
    tied = [f"tie{n:02d}" for n in range(3)]
    await copies_at_the_same_instant(client, ids[2], tied)
    before = [i["id"] for i in (await get(client, f"{INCIDENTS}?limit=100"))["incidents"]]
    assert set(before) == {*ids, *tied}
    added: list[str] = []

    async def publish(page: int) -> None:
        if page in (1, 2):  # newer than every listed one: before the walk's place
            added.append(await new_incident(client, f"Published while paging {page}"))

    walked = [i["id"] for i in await walk(client, f"{INCIDENTS}?limit=2", "incidents", publish)]
    assert walked == before  # each once, newest first, none shifted by the new ones
    assert len(added) == 2
    again = [i["id"] for i in await walk(client, f"{INCIDENTS}?limit=2", "incidents", _none)]
    assert again == [*reversed(added), *before]


async def test_walking_the_maintenances_lists_the_apis_and_the_rules_windows_each_once(
    client: Client,
) -> None:
    stored = [await new_maintenance(client, f"Maintenance {n}", 24 * n + 12) for n in range(6)]
    listed = (await get(client, f"{MAINTENANCES}?limit=100"))["maintenances"]
    windows = [m["id"] for m in listed if m["source"] == "rules"]
    assert len(windows) == 1  # db-patching, between the API's by its start
    before = [m["id"] for m in listed]
    assert set(before) == {*stored, *windows}
    added: dict[int, str] = {}

    async def schedule(page: int) -> None:
        if page == 1:  # starts after every listed one: before the walk's place
            added[page] = await new_maintenance(client, "Latest", 24 * 30)
        if page == 2:  # starts before every listed one: after the walk's place
            added[page] = await new_maintenance(client, "Soonest", 1)

    pages = await walk(client, f"{MAINTENANCES}?limit=2", "maintenances", schedule)
    walked = [m["id"] for m in pages]
    assert walked == [*before, added[2]]  # each once, latest start first
    starts = [m["scheduled_for"] for m in pages]
    assert starts == sorted(starts, reverse=True)


async def _none(page: int) -> None:
    """Nothing between pages."""


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",  # not base64 text
        "",  # empty
        _cursor({"at": 1}),  # base64 JSON of another shape
        _cursor([1.5, "abc"]),  # a time that is not whole microseconds
        _cursor([1, ""]),  # no id
        _cursor([253_402_300_799_000_000, "abc"]),  # 9999-12-31: no item's place
    ],
)
@pytest.mark.parametrize("path", [INCIDENTS, MAINTENANCES])
async def test_a_bad_cursor_is_a_400_naming_it(client: Client, path: str, cursor: str) -> None:
    # Before, the lists took no cursor: any was an unknown parameter.
    answer = await get(client, f"{path}?cursor={cursor}", 400)
    assert answer["problems"] == [
        {"field": "cursor", "reason": "not a cursor of this list; use a next link"}
    ]


async def test_the_store_reads_due_documents_after_a_place_through_ties(client: Client) -> None:
    # Many documents due at one instant (more than Redis's first read reaches past the
    # place): each page after the previous one's last (due, key) continues the order.
    store = client.app[STORE]
    tied = [ConsumerWrite("pages", f"k{n:02d}", {"n": n}, START) for n in range(40)]
    later = [
        ConsumerWrite("pages", f"a{n}", {"n": n}, START + timedelta(seconds=n)) for n in (1, 2)
    ]
    await store.commit_events(EventBatch("test", "test", None), [*tied, *later])
    everything = [k for k, _ in await store.due_documents("pages", rec.EVERYTHING, 100)]
    assert len(everything) == 42
    walked: list[str] = []
    while True:
        after = None if not walked else (_due(walked[-1]), walked[-1])
        page = await store.due_documents("pages", rec.EVERYTHING, 3, after=after)
        if not page:
            break
        walked.extend(k for k, _ in page)
    assert walked == everything
    bounded = await store.due_documents("pages", START, 100, after=(START, "k37"))
    assert [k for k, _ in bounded] == ["k38", "k39"]


def _due(key: str) -> Any:
    return START + timedelta(seconds=int(key[1:])) if key.startswith("a") else START
