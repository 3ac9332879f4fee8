"""The status API through real HTTP, on SQLite and on a real redis-server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.clock import ManualClock
from core.settings import Settings
from core.store.events import ConsumerWrite, EventBatch
from statuspage import records as rec
from statuspage.commands import MAX_UPDATES, capped
from statuspage.model import ComponentStatus, Indicator
from statuspage.records import IncidentRecord
from statuspage.snapshot import build_snapshot
from statuspage.writer import Changes
from tests.app_harness import RESPONDER, RULES, START, VIEWER
from tests.statuspage.harness import page_app
from tocsin.keys import CLOCK, STATUS_LISTENERS, STORE
from tocsin.keys import RULES as RULES_KEY
from tocsin.operator.status import LIST_UPDATES, MAX_LIMIT

Client = TestClient  # type: ignore[type-arg]

PAGE_RULES = RULES + Path(__file__).with_name("rules.yml").read_text()
INCIDENTS = "/api/v1/status/incidents"
MAINTENANCES = "/api/v1/status/maintenances"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def client(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> Client:
    """The application on each store, without a correlator, on a manual clock at START."""
    return await page_app(request, aiohttp_client, make_settings, tmp_path, PAGE_RULES)


async def post(client: Client, path: str, body: object, status: int) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def get(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = await client.get(path, headers=VIEWER)
    assert response.status == status, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


NEW = {
    "name": "Card payments fail",
    "status": "investigating",
    "impact": "major",
    "components": {"card-payments": "major_outage", "checkout": "degraded_performance"},
    "body": "Some card payments fail. We are on it.",
}


async def test_an_operator_creates_reads_and_lists_a_public_incident(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW, 201)
    assert created["name"] == "Card payments fail"
    assert created["impact"] == "major"
    assert created["components"] == ["card-payments", "checkout"]
    (update,) = created["incident_updates"]
    assert update["body"] == NEW["body"]
    assert {a["code"]: a["new_status"] for a in update["affected_components"]} == {
        "card-payments": "major_outage",
        "checkout": "degraded_performance",
    }
    assert await get(client, f"{INCIDENTS}/{created['id']}") == created
    assert [i["id"] for i in (await get(client, INCIDENTS))["incidents"]] == [created["id"]]


async def test_an_operator_write_tells_the_site_to_rebuild_at_once(client: Client) -> None:
    # Before, the API applied the command and dropped what changed: the page learnt of
    # it only at the next alert-driven change, at midnight or on a restart (review).
    heard: list[Changes] = []

    async def listener(changes: Changes) -> None:
        heard.append(changes)

    client.app[STATUS_LISTENERS].append(listener)
    created = await post(client, INCIDENTS, NEW, 201)

    # Its id, or everything when this is the application's first catch-up.
    assert any(created["id"] in c.incidents or c.everything for c in heard)


async def test_updates_change_status_and_components_until_resolved(client: Client) -> None:
    created = await post(client, INCIDENTS, NEW, 201)
    path = f"{INCIDENTS}/{created['id']}/updates"
    clock: ManualClock = client.app[CLOCK]  # type: ignore[assignment]
    clock.advance(timedelta(minutes=10))
    body = {
        "status": "monitoring",
        "body": "A fix is out.",
        "components": {"card-payments": "partial_outage"},
    }
    monitoring = await post(client, path, body, 201)
    assert monitoring["status"] == "monitoring"
    assert monitoring["monitoring_at"] is not None
    rules = client.app[RULES_KEY].current.rules
    snapshot = await build_snapshot(client.app[STORE], rules, clock.now())
    statuses = {c.id: c.status for c in snapshot.components}
    assert statuses["card-payments"] is ComponentStatus.PARTIAL_OUTAGE
    assert statuses["checkout"] is ComponentStatus.DEGRADED_PERFORMANCE
    assert snapshot.indicator is Indicator.MAJOR  # the incident's impact
    clock.advance(timedelta(minutes=10))
    resolved = await post(client, path, {"status": "resolved", "body": "All good."}, 201)
    assert resolved["resolved_at"] is not None
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "monitoring",
        "investigating",
    ]
    snapshot = await build_snapshot(client.app[STORE], rules, clock.now())
    assert {c.status for c in snapshot.components} == {ComponentStatus.OPERATIONAL}
    assert snapshot.description == "All Systems Operational"
    checkout = next(h for h in snapshot.histories if h.component_id == "card-payments")
    today = checkout.days[-1]
    assert today.downtime_seconds[ComponentStatus.MAJOR_OUTAGE] == 600
    assert today.incident_ids == (created["id"],)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # An unknown field is named.
        ({**NEW, "labels": {"a": "b"}}, "labels"),
        # A required field is missing.
        ({"body": "x"}, "name"),
        # Too long a name.
        ({**NEW, "name": "x" * 201}, "name"),
        # A status outside Statuspage's values.
        ({**NEW, "status": "fixed"}, "status"),
        # An impact outside Statuspage's values.
        ({**NEW, "impact": "huge"}, "impact"),
        # A component the page does not have.
        ({**NEW, "components": ["billing"]}, "components.billing"),
        # A component status an operator cannot set.
        ({**NEW, "components": {"checkout": "under_maintenance"}}, "components.checkout"),
        # Not an object.
        (["name"], "body"),
    ],
)
async def test_a_bad_incident_body_is_a_400_naming_the_field(
    client: Client, body: object, field: str
) -> None:
    answer = await post(client, INCIDENTS, body, 400)
    assert field in [p["field"] for p in answer["problems"]]


async def test_a_body_over_the_limit_is_refused(client: Client) -> None:
    await post(client, INCIDENTS, {**NEW, "body": "x" * 70_000}, 413)


async def test_writes_need_a_responder_key_and_reads_a_viewer_key(client: Client) -> None:
    assert (await client.post(INCIDENTS, json=NEW, headers=VIEWER)).status == 403
    assert (await client.get(INCIDENTS)).status == 401
    assert (await client.get(MAINTENANCES, headers=VIEWER)).status == 200


async def test_an_update_of_an_unknown_incident_is_a_404(client: Client) -> None:
    await post(client, f"{INCIDENTS}/nope/updates", {"status": "resolved", "body": "x"}, 404)


async def test_a_scheduled_maintenance_runs_by_the_clock_and_takes_updates(client: Client) -> None:
    clock: ManualClock = client.app[CLOCK]  # type: ignore[assignment]
    start = START + timedelta(hours=1)
    body = {
        "name": "Search index rebuild",
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=2)).isoformat(),
        "components": ["search"],
    }
    created = await post(client, MAINTENANCES, body, 201)
    assert created["status"] == "scheduled"
    assert created["source"] == "api"
    clock.advance(timedelta(hours=1, minutes=5))
    assert (await get(client, f"{MAINTENANCES}/{created['id']}"))["status"] == "in_progress"
    rules = client.app[RULES_KEY].current.rules
    snapshot = await build_snapshot(client.app[STORE], rules, clock.now())
    search = next(c for c in snapshot.components if c.id == "search")
    assert search.status is ComponentStatus.UNDER_MAINTENANCE
    path = f"{MAINTENANCES}/{created['id']}/updates"
    done = await post(client, path, {"status": "completed", "body": "Done early."}, 201)
    assert done["status"] == "completed"
    assert [u["status"] for u in done["incident_updates"]] == ["completed", "scheduled"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # The end before the start.
        ({"scheduled_until": "2026-11-27T10:00:00Z"}, "scheduled_until"),
        # Not RFC 3339 with an offset.
        ({"scheduled_for": "tomorrow"}, "scheduled_for"),
        # No component at all.
        ({"components": []}, "components"),
        # An unknown field.
        ({"impact": "major"}, "impact"),
        # Far in the future: it overflowed the records' newest-first order and wedged the
        # page's writer for good (review of issue 12).
        ({"scheduled_until": "5000-01-01T00:00:00Z"}, "scheduled_until"),
        # Before 2000: accepted, then never listed.
        ({"scheduled_for": "1980-01-01T00:00:00Z"}, "scheduled_for"),
    ],
)
async def test_a_bad_maintenance_body_is_a_400_naming_the_field(
    client: Client, change: dict[str, object], field: str
) -> None:
    body = {
        "name": "Upgrade",
        "scheduled_for": "2026-11-28T10:00:00Z",
        "scheduled_until": "2026-11-28T11:00:00Z",
        "components": ["search"],
    }
    answer = await post(client, MAINTENANCES, body | change, 400)
    assert field in [p["field"] for p in answer["problems"]]


async def test_an_incident_takes_at_most_max_updates(client: Client) -> None:
    # Before, there was no limit: one incident's timeline could grow without end, and
    # the front page and the incident's page with it.
    created = await post(client, INCIDENTS, NEW, 201)
    store = client.app[STORE]
    record = IncidentRecord.decode(
        (await store.consumer_documents(rec.INCIDENTS, [created["id"]]))[created["id"]]
    )
    first = record.incident.updates[0]
    many = tuple(replace(first, id=f"u{n}") for n in range(MAX_UPDATES))
    full = IncidentRecord(replace(record.incident, updates=many), record.statuses)
    write = ConsumerWrite(rec.INCIDENTS, created["id"], full.encode())
    await store.commit_events(EventBatch("test", "test", None), [write])
    update = {"status": "identified", "body": "One more."}
    refused = await post(client, f"{INCIDENTS}/{created['id']}/updates", update, 400)
    (problem,) = refused["problems"]
    assert problem["field"] == "incident_updates"
    assert str(MAX_UPDATES) in str(problem)


async def test_a_full_incident_can_still_be_resolved(client: Client) -> None:
    # Before, the 400 above also refused "resolved": an incident with MAX_UPDATES
    # updates stayed open on the public page for good.
    created = await post(client, INCIDENTS, NEW, 201)
    store = client.app[STORE]
    record = IncidentRecord.decode(
        (await store.consumer_documents(rec.INCIDENTS, [created["id"]]))[created["id"]]
    )
    first = record.incident.updates[0]
    many = tuple(replace(first, id=f"u{n}") for n in range(MAX_UPDATES - 1, 0, -1))
    full = IncidentRecord(replace(record.incident, updates=(*many, first)), record.statuses)
    write = ConsumerWrite(rec.INCIDENTS, created["id"], full.encode())
    await store.commit_events(EventBatch("test", "test", None), [write])
    update = {"status": "resolved", "body": "Fixed."}
    resolved = await post(client, f"{INCIDENTS}/{created['id']}/updates", update, 201)
    assert resolved["status"] == "resolved"
    kept = resolved["incident_updates"]
    assert len(kept) == MAX_UPDATES
    assert kept[0]["status"] == "resolved"
    assert kept[-1]["id"] == first.id  # the first update stays
    postmortem = {"status": "postmortem", "body": "What happened."}
    await post(client, f"{INCIDENTS}/{created['id']}/updates", postmortem, 201)


async def test_a_list_answer_is_bounded(client: Client) -> None:
    # Before, ?limit=1000 listed 1,000 incidents with all their updates: up to 100 of
    # 10,000 characters each, about 1 GB in one answer. Now at most MAX_LIMIT incidents
    # with their LIST_UPDATES newest updates each; one incident's GET has them all.
    refused = await get(client, f"{INCIDENTS}?limit={MAX_LIMIT + 1}", 400)
    assert refused["problems"][0]["field"] == "limit"
    await get(client, f"{MAINTENANCES}?limit={MAX_LIMIT + 1}", 400)
    created = await post(client, INCIDENTS, NEW, 201)
    store = client.app[STORE]
    record = IncidentRecord.decode(
        (await store.consumer_documents(rec.INCIDENTS, [created["id"]]))[created["id"]]
    )
    first = record.incident.updates[0]
    many = tuple(replace(first, id=f"u{n}") for n in range(MAX_UPDATES, 0, -1))
    full = IncidentRecord(replace(record.incident, updates=many), record.statuses)
    due = rec.newest_first_due(full.incident.created_at)  # listed as the writer lists it
    write = ConsumerWrite(rec.INCIDENTS, created["id"], full.encode(), due=due)
    await store.commit_events(EventBatch("test", "test", None), [write])
    (listed,) = (await get(client, f"{INCIDENTS}?limit={MAX_LIMIT}"))["incidents"]
    assert [u["id"] for u in listed["incident_updates"]] == [
        f"u{n}" for n in range(MAX_UPDATES, MAX_UPDATES - LIST_UPDATES, -1)
    ]
    assert listed["incident_updates_count"] == MAX_UPDATES
    detail = await get(client, f"{INCIDENTS}/{created['id']}")
    assert len(detail["incident_updates"]) == detail["incident_updates_count"] == MAX_UPDATES


def test_automatic_updates_keep_the_newest_and_the_first() -> None:
    updates = tuple(range(MAX_UPDATES + 5, 0, -1))  # newest first; 1 is the first
    kept = capped(updates)
    assert len(kept) == MAX_UPDATES
    assert kept[: MAX_UPDATES - 1] == updates[: MAX_UPDATES - 1]
    assert kept[-1] == 1
