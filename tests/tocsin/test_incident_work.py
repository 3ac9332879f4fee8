"""Tasks, merge, Idempotency-Key and compare-and-set under a concurrent correlator write.

Through real HTTP on SQLite and on a real redis-server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import StoreUnavailable
from core.incident import IncidentEvent, IncidentState
from core.settings import Settings
from core.store import (
    OPERATOR_GROUP,
    CorrelationCommit,
    IncidentAlertWrite,
    VersionConflict,
)
from tests.app_harness import ADMIN, RESPONDER
from tests.tocsin.actions_harness import Client, Served, incident, serve
from tocsin.operator.idempotency import COLLECTION


@pytest.fixture
async def served(served_on_each_store: Served) -> Served:
    """A server on each store, with incidents 1 and 2 triggered (version 1, two groups)."""
    served = served_on_each_store
    await served.seed(incident(1), incident(2))
    return served


async def test_tasks_are_added_and_completed_with_who_and_when(served: Served) -> None:
    added = await served.post("/api/v1/incidents/inc-0001/tasks", {"title": "Check the disk"})
    assert added.status == 201
    served.clock.advance(timedelta(minutes=5))
    done = await served.act("inc-0001", "tasks/1/complete", {"note": "80% full"})

    [task] = done["tasks"]
    assert task == {
        "id": "1",
        "title": "Check the disk",
        "source": "person",
        "created_by": "ana",
        "created_at": "2026-11-27T15:12:00Z",
        "completed_by": "ana",
        "completed_at": "2026-11-27T15:17:00Z",
    }
    assert [(e.kind, e.detail.get("note")) for e in await served.stream()] == [
        ("task_added", None),
        ("task_completed", "80% full"),
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        # A task is completed once.
        ("tasks/1/complete", {}, 409, "task_id"),
        # No such task.
        ("tasks/7/complete", {}, 404, "task_id"),
        # A title over 500 characters.
        ("tasks", {"title": "t" * 501}, 400, "title"),
        # A title is required.
        ("tasks", {}, 400, "title"),
    ],
)
async def test_task_errors(
    served: Served, path: str, body: dict[str, str], status: int, field: str
) -> None:
    await served.act("inc-0001", "tasks", {"title": "Check the disk"})
    await served.act("inc-0001", "tasks/1/complete", {})

    response = await served.post(f"/api/v1/incidents/inc-0001/{path}", body)

    assert response.status == status
    assert (await response.json())["field"] == field


async def test_merge_moves_the_alerts_and_the_group_and_both_timelines_say_so(
    served: Served,
) -> None:
    source, target = incident(1), incident(2)

    answer = await served.act("inc-0001", "merge", {"into": "inc-0002"})

    # The answer is the target, now with the source's alert.
    assert answer["id"] == "inc-0002"
    assert answer["counts"]["alerts"] == 2
    assert {a["fingerprint"] for a in answer["alerts"]} == {*source.alerts, *target.alerts}
    assert answer["timeline"][-1]["kind"] == "merged_from"
    assert answer["timeline"][-1]["detail"]["incident"] == "inc-0001"
    merged = await served.store.get_incident("inc-0001")
    assert merged is not None
    assert (merged.state, merged.resolution_code, merged.merged_into) == (
        IncidentState.RESOLVED,
        "duplicate",
        "inc-0002",
    )
    # Later alerts of the source's group go to the target.
    head = await served.store.incident_for_group(source.group_key)
    assert head is not None
    assert head.id == "inc-0002"
    assert [(e.incident_id, e.kind) for e in await served.stream()] == [
        ("inc-0001", "merged_into"),
        ("inc-0002", "merged_from"),
    ]


async def test_merge_moves_the_source_timeline_to_the_target(served: Served) -> None:
    await served.act("inc-0001", "acknowledge", {})
    await served.act("inc-0001", "note", {"text": "Disk of db-1 at 95%"})

    answer = await served.act("inc-0001", "merge", {"into": "inc-0002"})

    # The source's entries follow in the target's timeline, each as it was, then the merge.
    copied = [e for e in answer["timeline"] if e["kind"] == "merged_entry"]
    assert [(e["detail"]["kind"], e["detail"]["incident"]) for e in copied] == [
        ("acknowledged", "inc-0001"),
        ("note", "inc-0001"),
    ]
    assert copied[1]["detail"]["detail"] == {"text": "Disk of db-1 at 95%"}
    assert answer["timeline"][-1]["detail"]["timeline"] == 2
    assert answer["timeline"][-1]["detail"]["timeline_left_on_source"] == 0
    # The source keeps its own timeline too.
    kinds = [e.kind for e in await served.store.incident_events("inc-0001")]
    assert kinds == ["acknowledged", "note", "merged_into"]


@pytest.mark.parametrize(
    ("into", "status", "field"),
    [
        # Into itself.
        ("inc-0001", 400, "into"),
        # Into an incident that does not exist.
        ("inc-0404", 404, "into"),
        # Into a resolved one.
        ("inc-0002", 409, "into"),
    ],
)
async def test_merge_errors(served: Served, into: str, status: int, field: str) -> None:
    await served.act("inc-0002", "resolve", {"resolution_code": "not_reproducible", "notes": "n"})

    response = await served.post("/api/v1/incidents/inc-0001/merge", {"into": into})

    assert response.status == status, await response.text()
    assert (await response.json())["field"] == field


async def test_a_retry_with_the_same_idempotency_key_acts_once(served: Served) -> None:
    headers = {**RESPONDER, "Idempotency-Key": "note-42"}
    first = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)
    again = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    assert (first.status, again.status) == (200, 200)
    assert await again.read() == await first.read()
    assert again.headers["ETag"] == first.headers["ETag"] == '"2"'
    assert again.headers["Idempotent-Replayed"] == "true"
    assert [e.kind for e in await served.stream()] == ["note"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_an_idempotency_key_outlives_a_restart(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    backend: str,
) -> None:
    url = None if backend == "sqlite" else request.getfixturevalue("redis_url")
    first = await serve(aiohttp_client, make_settings, tmp_path, url)
    await first.seed(incident(1))
    headers = {**RESPONDER, "Idempotency-Key": "k"}
    answered = await first.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)
    body = await answered.read()
    await first.client.close()  # the server stops; its store closes

    again = await serve(aiohttp_client, make_settings, tmp_path, url)
    replayed = await again.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert await replayed.read() == body
    assert [e.kind for e in await again.stream()] == ["note"]


async def test_the_same_idempotency_key_with_another_body_is_a_422(served: Served) -> None:
    headers = {**RESPONDER, "Idempotency-Key": "k"}
    await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    response = await served.post("/api/v1/incidents/inc-0001/note", {"text": "y"}, headers)

    assert response.status == 422
    assert (await response.json())["field"] == "Idempotency-Key"


async def test_idempotency_keys_expire_after_a_day_and_belong_to_one_api_key(
    served: Served,
) -> None:
    headers = {"Idempotency-Key": "k"}
    await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, {**RESPONDER, **headers})
    # Another API key's same key is its own.
    await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, {**ADMIN, **headers})
    served.clock.advance(timedelta(hours=24, seconds=1))
    # Expired: it acts again, and the write deletes the expired record of the other key.
    await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, {**RESPONDER, **headers})

    assert [e.actor for e in await served.stream()] == ["ana", "root", "ana"]
    due = await served.store.due_documents(COLLECTION, served.clock.now(), 10)
    assert due == []


async def test_the_idempotency_record_is_written_with_the_change_or_not_at_all(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = served.store
    real_commit = store.commit
    commits: list[CorrelationCommit] = []

    async def failing_once(commit: CorrelationCommit) -> None:
        commits.append(commit)
        if len(commits) == 1:
            raise StoreUnavailable("the store went away mid-write")
        await real_commit(commit)

    monkeypatch.setattr(store, "commit", failing_once)
    headers = {**RESPONDER, "Idempotency-Key": "k"}
    failed = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)
    retried = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)
    replayed = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"}, headers)

    assert (failed.status, retried.status, replayed.status) == (503, 200, 200)
    # One commit carries the change and the record together.
    assert [d.collection for d in commits[1].documents] == [COLLECTION]
    assert [e.kind for e in await served.stream()] == ["note"]


def correlator_write(served: Served) -> Callable[[], Awaitable[None]]:
    """A correlation step that adds an alert to incident 1, as the correlator would."""

    async def write() -> None:
        current = await served.store.get_incident("inc-0001")
        assert current is not None
        [alert] = incident(3).alerts.values()
        changed = replace(
            current, version=current.version + 1, alerts={**current.alerts, alert.fingerprint: alert}
        )
        detail = {"alerts": [{"fingerprint": alert.fingerprint, "status": "firing"}]}
        joined = IncidentEvent(changed.id, served.clock.now(), "tocsin", "alerts_joined", detail)
        await served.store.commit(
            CorrelationCommit(
                "correlate",
                incidents=(changed,),
                events=(joined,),
                alerts=(IncidentAlertWrite(changed.id, alert),),
            )
        )

    return write


@pytest.mark.parametrize("if_match", [None, '"1"'])
async def test_a_concurrent_correlator_write_is_retried_unless_if_match_pins_the_version(
    served: Served, monkeypatch: pytest.MonkeyPatch, if_match: str | None
) -> None:
    store = served.store
    real_commit = store.commit
    correlate = correlator_write(served)
    attempts: list[CorrelationCommit] = []

    async def racing(commit: CorrelationCommit) -> None:
        if commit.group == OPERATOR_GROUP:
            attempts.append(commit)
            if len(attempts) == 1:
                await correlate()  # lands between the action's read and its write
        await real_commit(commit)

    monkeypatch.setattr(store, "commit", racing)
    headers = {**RESPONDER} if if_match is None else {**RESPONDER, "If-Match": if_match}

    response = await served.post("/api/v1/incidents/inc-0001/acknowledge", {}, headers)

    stored = await store.get_incident("inc-0001")
    assert stored is not None
    if if_match is None:
        # Read again and applied again: acknowledged, and the correlator's alert kept.
        assert response.status == 200
        assert len(attempts) == 2
        assert (stored.state, stored.version, len(stored.alerts)) == (
            IncidentState.ACKNOWLEDGED,
            3,
            2,
        )
        assert [e.kind for e in await served.stream()] == ["alerts_joined", "acknowledged"]
    else:
        assert response.status == 412
        assert (await response.json())["etag"] == '"2"'
        assert (stored.state, stored.version) == (IncidentState.TRIGGERED, 2)


async def test_an_action_that_keeps_losing_the_race_is_a_409(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def always_stale(commit: CorrelationCommit) -> None:
        raise VersionConflict("another writer came first")

    monkeypatch.setattr(served.store, "commit", always_stale)

    response = await served.post("/api/v1/incidents/inc-0001/note", {"text": "x"})

    assert response.status == 409
