"""The status API's Idempotency-Key, through real HTTP, on SQLite and on a real redis-server.

Before, the status API ignored the header: a retried POST (after a timeout, or a 202 the
client did not see) put a second public incident or maintenance on the page.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from statuspage import records as rec
from statuspage.commands import incident_command, with_idempotency_key
from statuspage.writer import file_command, new_id
from tests.app_harness import RESPONDER, START, VIEWER
from tests.statuspage.test_status_api import INCIDENTS, MAINTENANCES, NEW
from tests.statuspage.test_status_api import client as client  # the fixture, both stores
from tocsin.keys import CLOCK, STATUS_WRITER, STORE

Client = TestClient  # type: ignore[type-arg]


def keyed(key: str) -> dict[str, str]:
    return {**RESPONDER, "Idempotency-Key": key}


async def send(
    client: Client, method: str, path: str, body: object, key: str, status: int
) -> ClientResponse:
    response = await client.request(method, path, json=body, headers=keyed(key))
    assert response.status == status, await response.text()
    return response


async def listed(client: Client, path: str) -> list[dict[str, Any]]:
    response = await client.get(path, headers=VIEWER)
    assert response.status == 200, await response.text()
    found: list[dict[str, Any]] = next(iter((await response.json()).values()))
    return found


MAINTENANCE = {
    "name": "Search index rebuild",
    "scheduled_for": (START + timedelta(hours=1)).isoformat(),
    "scheduled_until": (START + timedelta(hours=3)).isoformat(),
    "components": ["search"],
}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (INCIDENTS, NEW),  # a public incident
        (MAINTENANCES, MAINTENANCE),  # a maintenance
    ],
)
async def test_a_retried_creation_answers_the_first_and_creates_once(
    client: Client, path: str, body: dict[str, Any]
) -> None:
    first = await send(client, "POST", path, body, "create-1", 201)
    client.app[CLOCK].advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    again = await send(client, "POST", path, body, "create-1", 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert await again.json() == await first.json()
    ids = [item["id"] for item in await listed(client, path)]
    assert ids.count((await first.json())["id"]) == 1
    assert len([i for i in ids if not i.startswith("window-")]) == 1


async def test_the_same_key_with_another_request_is_a_422(client: Client) -> None:
    await send(client, "POST", INCIDENTS, NEW, "k", 201)
    refused = await send(client, "POST", INCIDENTS, NEW | {"name": "Other"}, "k", 422)
    assert (await refused.json())["field"] == "Idempotency-Key"
    other_path = await send(client, "POST", MAINTENANCES, MAINTENANCE, "k", 422)
    assert (await other_path.json())["field"] == "Idempotency-Key"
    assert len(await listed(client, INCIDENTS)) == 1


async def test_keys_are_per_api_key_and_a_malformed_one_is_a_400(client: Client) -> None:
    await send(client, "POST", INCIDENTS, NEW, "k", 201)
    admin = {"Authorization": "Bearer admin-key", "Idempotency-Key": "k"}
    other = await client.post(INCIDENTS, json=NEW, headers=admin)
    assert other.status == 201, await other.text()
    assert "Idempotent-Replayed" not in other.headers
    assert len(await listed(client, INCIDENTS)) == 2
    bad = await client.post(INCIDENTS, json=NEW, headers=keyed("x" * 201))
    assert bad.status == 400
    assert "Idempotency-Key" in await bad.text()


async def test_a_retried_update_adds_one_update(client: Client) -> None:
    created = await (await send(client, "POST", INCIDENTS, NEW, "c", 201)).json()
    path = f"{INCIDENTS}/{created['id']}/updates"
    update = {"status": "identified", "body": "A bad deploy."}
    first = await send(client, "POST", path, update, "u", 201)
    again = await send(client, "POST", path, update, "u", 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    assert len((await first.json())["incident_updates"]) == 2


async def test_a_retried_delete_answers_204_again(client: Client) -> None:
    # Before, the retry of a delete whose 204 was lost was a 404.
    created = await (await send(client, "POST", INCIDENTS, NEW, "c", 201)).json()
    path = f"{INCIDENTS}/{created['id']}"
    await send(client, "DELETE", path, None, "d", 204)
    again = await send(client, "DELETE", path, None, "d", 204)
    assert again.headers["Idempotent-Replayed"] == "true"
    await send(client, "DELETE", path, None, "another", 404)


async def test_concurrent_retries_filed_before_either_is_applied_act_once(
    client: Client,
) -> None:
    # Both requests file their command before the writer takes either (as with another
    # replica holding the writer's lease): the writer lets one act, and both answers
    # name what it created.
    writer = client.app[STATUS_WRITER]
    store = client.app[STORE]

    async def create() -> ClientResponse:
        return await client.post(INCIDENTS, json=NEW, headers=keyed("twice"))

    async with writer._lock:  # the writer is busy: nothing is applied yet
        tasks = [asyncio.create_task(create()) for _ in range(2)]
        for _ in range(10_000):  # each request's turns, until both filed their command
            if len(await store.due_documents(rec.COMMANDS, rec.EVERYTHING, 10)) == 2:
                break
            await asyncio.sleep(0)
        assert len(await store.due_documents(rec.COMMANDS, rec.EVERYTHING, 10)) == 2
    answers = await asyncio.gather(*tasks)
    assert [a.status for a in answers] == [201, 201]
    bodies = [await a.json() for a in answers]
    assert bodies[0] == bodies[1]
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert [i["id"] for i in await listed(client, INCIDENTS)] == [bodies[0]["id"]]


async def test_the_writer_applies_one_command_per_key(client: Client) -> None:
    store = client.app[STORE]
    now = client.app[CLOCK].now()
    filed = []
    for name in ("First", "Second"):
        command = incident_command(
            NEW | {"name": name}, {"card-payments", "checkout"}, new_id(), new_id(), now
        )
        filed.append(await file_command(store, with_idempotency_key(command, "k", "r")))
    await client.app[STATUS_WRITER].step()
    names = [i["name"] for i in await listed(client, INCIDENTS)]
    assert len(names) == 1
    recorded = (await store.consumer_documents(rec.IDEMPOTENCY, ["k"]))["k"]
    assert recorded["command"] in filed
    assert not await store.due_documents(rec.COMMANDS, rec.EVERYTHING, 10)


async def test_a_key_expires_after_a_day_and_its_creation_still_is_not_repeated(
    client: Client,
) -> None:
    first = await (await send(client, "POST", INCIDENTS, NEW, "old", 201)).json()
    client.app[CLOCK].advance(rec.IDEMPOTENCY_KEEP + timedelta(minutes=1))  # type: ignore[attr-defined]
    again = await send(client, "POST", INCIDENTS, NEW, "old", 201)
    assert "Idempotent-Replayed" not in again.headers  # the key is new again
    assert (await again.json())["id"] == first["id"]  # its id, derived from the key, exists
    assert len(await listed(client, INCIDENTS)) == 1
