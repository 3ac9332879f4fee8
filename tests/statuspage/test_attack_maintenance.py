"""Attacks on the status API's maintenances (issue 12, "Safe"): what has happened stays.

Before: a maintenance completed by its end took an update back to ``scheduled`` or
``in_progress``; the clock then completed it again, at its old end, each time, so the
timeline filled with copies of the automatic updates dated in the past. And a new
maintenance could be made wholly in the past: a completed one the page never had, with
its automatic updates older than its first.

Real HTTP on SQLite and on a real redis-server, on a manual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuspage import records as rec
from statuspage.commands import maintenance_update_command
from statuspage.writer import file_command, new_id
from tests.app_harness import RESPONDER, START
from tests.statuspage.test_status_api import MAINTENANCES, Client, client, get, post
from tocsin.keys import CLOCK, STATUS_WRITER, STORE

__all__ = ["client"]  # the fixture, on both stores

H = timedelta(hours=1)


def _at(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(starts: datetime, ends: datetime) -> dict[str, Any]:
    return {
        "name": "Search index rebuild",
        "scheduled_for": _at(starts),
        "scheduled_until": _at(ends),
        "components": ["search"],
    }


async def _send(client: Client, method: str, path: str, body: object, status: int) -> Any:
    response = await client.request(method, path, json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    return await response.json()


def _statuses(maintenance: dict[str, Any]) -> list[str]:
    return [u["status"] for u in maintenance["incident_updates"]]


@pytest.mark.parametrize("status", ["scheduled", "in_progress", "verifying"])
async def test_a_maintenance_completed_by_its_end_is_not_reopened(
    client: Client, status: str
) -> None:
    created = await post(client, MAINTENANCES, _window(START + H, START + 2 * H), 201)
    path = f"{MAINTENANCES}/{created['id']}"
    client.app[CLOCK].advance(3 * H)  # type: ignore[attr-defined]
    await client.app[STATUS_WRITER].step()  # the clock: in progress, then completed
    done = await get(client, path)
    assert _statuses(done) == ["completed", "in_progress", "scheduled"]
    reopen = {"status": status, "body": "Back on."}
    refused = await _send(client, "POST", f"{path}/updates", reopen, 409)
    assert refused["field"] == "status"
    refused = await _send(client, "PATCH", path, reopen, 409)
    assert refused["field"] == "status"
    await client.app[STATUS_WRITER].step()
    assert await get(client, path) == done
    # A word after it is done is still an update, completed.
    after = await post(client, f"{path}/updates", {"status": "completed", "body": "All good."}, 201)
    assert _statuses(after) == ["completed", "completed", "in_progress", "scheduled"]
    added = await _send(client, "PATCH", path, {"body": "Thanks."}, 200)
    assert _statuses(added)[0] == "completed"


async def test_an_update_filed_before_the_end_and_applied_after_keeps_it_completed(
    client: Client,
) -> None:
    # Another replica filed the update while it was in progress; this writer applies it
    # after the end: the maintenance stays completed, with one automatic completion.
    created = await post(client, MAINTENANCES, _window(START + H, START + 2 * H), 201)
    client.app[CLOCK].advance(90 * timedelta(minutes=1))  # type: ignore[attr-defined]
    await client.app[STATUS_WRITER].step()
    store = client.app[STORE]
    found = await store.consumer_documents(rec.MAINTENANCES, [created["id"]])
    current = rec.decode_maintenance(found[created["id"]])
    late = {"status": "verifying", "body": "Checking."}
    filed_at = START + 2 * H - timedelta(minutes=1)
    command = maintenance_update_command(late, current.id, new_id(), filed_at)
    client.app[CLOCK].advance(H)  # type: ignore[attr-defined]
    await client.app[STATUS_WRITER].step()  # completed by the clock first
    await file_command(store, command)
    await client.app[STATUS_WRITER].step()
    await client.app[STATUS_WRITER].step()
    shown = await get(client, f"{MAINTENANCES}/{created['id']}")
    assert shown["status"] == "completed"
    bodies = [u["body"] for u in shown["incident_updates"]]
    assert bodies.count("Scheduled maintenance of Search is completed.") == 1
    # Its text is kept, as a word after the end: it did not reopen the maintenance.
    assert shown["incident_updates"][0]["body"] == "Checking."
    assert _statuses(shown) == ["completed", "completed", "in_progress", "scheduled"]


@pytest.mark.parametrize(
    ("starts", "ends", "status"),
    [
        # Wholly in the past: history the page never had.
        (START - 3 * H, START - 2 * H, 400),
        # Ending now: over before it is shown.
        (START - H, START, 400),
        # Begun already and still running: in progress from now.
        (START - H, START + H, 201),
    ],
)
async def test_a_new_maintenance_must_end_later_than_now(
    client: Client, starts: datetime, ends: datetime, status: int
) -> None:
    answer = await _send(client, "POST", MAINTENANCES, _window(starts, ends), status)
    if status == 400:
        assert [p["field"] for p in answer["problems"]] == ["scheduled_until"]
        assert (await get(client, MAINTENANCES))["maintenances"] == []
    else:
        assert answer["status"] == "in_progress"


@pytest.mark.parametrize(
    ("starts", "status"),
    [
        # The first day of 2000: its newest-first due time fell after records.EVERYTHING
        # (25 leap days from 2000 to 2100, 24 from 2100 to 2200), so no list showed it.
        (datetime(2000, 1, 1, 12, tzinfo=UTC), 400),
        # Later in 2000: still outside the years the records order.
        (datetime(2000, 6, 1, tzinfo=UTC), 400),
        # The first instant allowed: listed.
        (datetime(2001, 1, 1, tzinfo=UTC), 201),
    ],
)
async def test_a_maintenance_begun_long_ago_is_listed_or_refused(
    client: Client, starts: datetime, status: int
) -> None:
    answer = await _send(client, "POST", MAINTENANCES, _window(starts, START + H), status)
    listed = (await get(client, MAINTENANCES))["maintenances"]
    if status == 400:
        assert [p["field"] for p in answer["problems"]] == ["scheduled_for"]
        assert listed == []
    else:
        assert [m["id"] for m in listed] == [answer["id"]]


async def test_a_maintenance_begun_before_it_was_posted_keeps_its_timeline_in_order(
    client: Client,
) -> None:
    # Posted an hour after its start: before, the clock's "in progress" update was dated
    # at the start, older than the first update it was listed above (newest first).
    created = await post(client, MAINTENANCES, _window(START - H, START + H), 201)
    client.app[CLOCK].advance(2 * H)  # type: ignore[attr-defined]
    await client.app[STATUS_WRITER].step()
    shown = await get(client, f"{MAINTENANCES}/{created['id']}")
    assert _statuses(shown) == ["completed", "in_progress", "scheduled"]
    times = [u["created_at"] for u in shown["incident_updates"]]
    assert times == sorted(times, reverse=True)
    assert times[1] == _at(START)  # in progress as posted, not before
