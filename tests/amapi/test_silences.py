"""Silences through /api/v2: the same store, checks and limits as /api/v1."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from core.timestamps import format_rfc3339
from tests.amapi.harness import RESPONDER, VIEWER, AmApi, at, basic, make_settings, start

HOUR = timedelta(hours=1)


def postable(**changes: Any) -> dict[str, Any]:
    """A valid postableSilence: alertname="DiskFull" for two hours from now."""
    body: dict[str, Any] = {
        "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False}],
        "startsAt": at(timedelta(0)),
        "endsAt": at(2 * HOUR),
        "createdBy": "ana",
        "comment": "replacing the disk",
    }
    return {**body, **changes}


async def post(amapi: AmApi, body: dict[str, Any], status: int = 200) -> Any:
    response = await amapi.client.post("/api/v2/silences", json=body, headers=RESPONDER)
    assert response.status == status, await response.text()
    return await response.json()


async def v1(client: TestClient, silence_id: str) -> Any:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/silences/{silence_id}", headers=VIEWER)
    assert response.status == 200
    return await response.json()


async def v2(client: TestClient, silence_id: str) -> Any:  # type: ignore[type-arg]
    response = await client.get(f"/api/v2/silence/{silence_id}", headers=VIEWER)
    assert response.status == 200
    return await response.json()


async def test_a_silence_made_through_v2_is_the_same_in_v1(amapi: AmApi) -> None:
    matchers = [
        {"name": "alertname", "value": "DiskFull", "isRegex": False},
        {"name": "instance", "value": "db.*", "isRegex": True, "isEqual": False},
        {"name": "team", "value": "web", "isRegex": False, "isEqual": False},
    ]
    silence_id = (await post(amapi, postable(matchers=matchers)))["silenceID"]
    from_v1 = await v1(amapi.client, silence_id)
    assert from_v1["matchers"] == ['alertname="DiskFull"', 'instance!~"db.*"', 'team!="web"']
    assert from_v1["comment"] == "replacing the disk"
    assert from_v1["created_by"] == "ana"
    assert from_v1["state"] == "active"
    got = await v2(amapi.client, silence_id)
    assert got == {
        "id": silence_id,
        "status": {"state": "active"},
        "updatedAt": at(timedelta(0)),
        "matchers": [{**m, "isEqual": m.get("isEqual", True)} for m in matchers],
        "startsAt": at(timedelta(0)),
        "endsAt": at(2 * HOUR),
        "createdBy": "ana",
        "comment": "replacing the disk",
    }


async def test_a_silence_starting_in_the_past_starts_now(amapi: AmApi) -> None:
    silence_id = (await post(amapi, postable(startsAt=at(-HOUR))))["silenceID"]
    assert (await v2(amapi.client, silence_id))["startsAt"] == at(timedelta(0))


async def test_changing_the_end_or_comment_of_an_active_silence_keeps_its_id(
    amapi: AmApi,
) -> None:
    silence_id = (await post(amapi, postable()))["silenceID"]
    amapi.clock.advance(timedelta(minutes=5))
    changed = postable(id=silence_id, endsAt=at(5 * HOUR), comment="it takes longer")
    assert (await post(amapi, changed))["silenceID"] == silence_id
    from_v1 = await v1(amapi.client, silence_id)
    assert (from_v1["ends_at"], from_v1["comment"]) == (at(5 * HOUR), "it takes longer")
    assert from_v1["starts_at"] == at(timedelta(0))


async def test_changing_matchers_or_start_of_an_active_silence_replaces_it(amapi: AmApi) -> None:
    cases = [
        # (what changes, as Alertmanager's canUpdate refuses it in place)
        {"matchers": [{"name": "alertname", "value": "DiskAlmostFull", "isRegex": False}]},
        {"startsAt": at(timedelta(minutes=30))},
    ]
    for change in cases:
        old_id = (await post(amapi, postable()))["silenceID"]
        amapi.clock.advance(timedelta(minutes=5))
        now = amapi.clock.now()
        new_id = (await post(amapi, postable(id=old_id, **change)))["silenceID"]
        assert new_id != old_id, change
        old = await v1(amapi.client, old_id)
        assert old["state"] == "expired"
        assert old["ends_at"] == format_rfc3339(now)  # it ended when it was replaced
        new = await v2(amapi.client, new_id)
        assert new["status"]["state"] in {"active", "pending"}
        assert new["matchers"][0]["value"] == (
            change["matchers"][0]["value"] if "matchers" in change else "DiskFull"
        )


async def test_a_pending_silence_may_move_its_start_in_place(amapi: AmApi) -> None:
    silence_id = (await post(amapi, postable(startsAt=at(HOUR))))["silenceID"]
    moved = postable(id=silence_id, startsAt=at(90 * timedelta(minutes=1)))
    assert (await post(amapi, moved))["silenceID"] == silence_id
    got = await v2(amapi.client, silence_id)
    assert (got["status"]["state"], got["startsAt"]) == ("pending", at(90 * timedelta(minutes=1)))


async def test_an_expired_silence_posted_again_is_a_new_one(amapi: AmApi) -> None:
    old_id = (await post(amapi, postable()))["silenceID"]
    deleted = await amapi.client.delete(f"/api/v2/silence/{old_id}", headers=RESPONDER)
    assert deleted.status == 200
    new_id = (await post(amapi, postable(id=old_id)))["silenceID"]
    assert new_id != old_id
    assert (await v1(amapi.client, old_id))["state"] == "expired"


async def test_posting_an_unknown_id_is_404_and_a_rules_id_400(amapi: AmApi) -> None:
    missing = await post(amapi, postable(id=uuid.uuid4().hex), status=404)
    assert isinstance(missing, str)
    assert "not found" in missing
    assert "rules" in await post(amapi, postable(id="rules:legacy"), status=400)


async def test_bad_silences_are_400s_naming_the_v2_field(amapi: AmApi) -> None:
    cases = [
        # (body, the field named first)
        (postable(matchers=[]), "matchers"),
        (postable(matchers=[{"name": "a", "value": "b"}]), "matchers[0]"),
        (postable(matchers=[{"name": "a", "value": ".*", "isRegex": True}]), "matchers"),
        (postable(matchers=[{"name": "0a", "value": "b", "isRegex": False}]), "matchers[0]"),
        (postable(endsAt=at(-HOUR)), "endsAt"),
        (postable(endsAt="tomorrow"), "endsAt"),
        (postable(startsAt=at(3 * HOUR)), "endsAt"),
        (postable(comment=""), "comment"),
    ]
    for body, field in cases:
        message = await post(amapi, body, status=400)
        assert message.startswith(field), (body, message)
    listed = await amapi.client.get("/api/v1/silences", headers=VIEWER)
    assert all(s["source"] == "rules" for s in (await listed.json())["silences"])


async def test_delete_expires_and_knows_what_it_cannot(amapi: AmApi) -> None:
    silence_id = (await post(amapi, postable()))["silenceID"]
    client = amapi.client
    # Alertmanager's clients may send the id as a UUID with dashes.
    dashed = str(uuid.UUID(silence_id))
    assert (await client.delete(f"/api/v2/silence/{dashed}", headers=RESPONDER)).status == 200
    expired = await v1(client, silence_id)
    assert expired["state"] == "expired"
    for path, status in [
        (f"/api/v2/silence/{silence_id}", 200),  # already expired: as Alertmanager, a no-op
        (f"/api/v2/silence/{uuid.uuid4()}", 404),
        ("/api/v2/silence/rules:legacy", 409),  # edit the rules files instead
    ]:
        response = await client.delete(path, headers=RESPONDER)
        assert response.status == status, path
    viewer = await client.delete(f"/api/v2/silence/{silence_id}", headers=VIEWER)
    assert viewer.status == 403
    assert await v1(client, silence_id) == expired  # its end is when it was first expired


async def test_silences_need_a_responder_key(amapi: AmApi) -> None:
    for headers, status in [
        (VIEWER, 403),
        (basic("amtool", "viewer-key"), 403),
        (basic("amtool", "responder-key"), 200),
        ({"Authorization": "Bearer admin-key"}, 200),
    ]:
        response = await amapi.client.post("/api/v2/silences", json=postable(), headers=headers)
        assert response.status == status, headers


async def test_the_list_has_rules_silences_read_only_and_alertmanagers_order(
    amapi: AmApi,
) -> None:
    ending_later = (await post(amapi, postable(endsAt=at(3 * HOUR))))["silenceID"]
    ending_sooner = (await post(amapi, postable(comment="sooner")))["silenceID"]
    pending = (await post(amapi, postable(startsAt=at(HOUR))))["silenceID"]
    expired = (await post(amapi, postable()))["silenceID"]
    await amapi.client.delete(f"/api/v2/silence/{expired}", headers=RESPONDER)
    response = await amapi.client.get("/api/v2/silences", headers=VIEWER)
    ids = [s["id"] for s in await response.json()]
    # Active by end (the rules' end in 2030), pending by start, expired latest first.
    assert ids == [ending_sooner, ending_later, "rules:legacy", "rules:2", pending, expired]
    legacy = await v2(amapi.client, "rules:legacy")
    assert legacy["matchers"] == [
        {"name": "instance", "value": "legacy:9100", "isRegex": False, "isEqual": True}
    ]
    assert (await amapi.client.get("/api/v2/silence/rules:9", headers=VIEWER)).status == 404


async def test_the_list_filters_by_the_silences_own_matchers(amapi: AmApi) -> None:
    regex = [{"name": "instance", "value": "db.*", "isRegex": True}]
    disk = (await post(amapi, postable()))["silenceID"]
    by_regex = (await post(amapi, postable(matchers=regex)))["silenceID"]
    for filters, ids in [
        (['alertname="DiskFull"'], [disk]),
        (['instance=~"db.*"'], [by_regex]),
        (['instance="db.*"'], []),  # the operator must be the same too
        (['instance="legacy:9100"'], ["rules:legacy"]),
    ]:
        query = "&".join(f"filter={f}" for f in filters)
        response = await amapi.client.get(f"/api/v2/silences?{query}", headers=VIEWER)
        assert [s["id"] for s in await response.json()] == ids, filters


async def test_the_limits_of_v1_hold(
    aiohttp_client: Any,
    tmp_path: Path,
) -> None:
    amapi = await start(
        aiohttp_client, make_settings(tmp_path, max_silences=1, max_silence_bytes=300)
    )
    first = (await post(amapi, postable()))["silenceID"]
    assert "max_silences" in await post(amapi, postable(), status=409)
    # An update in place adds nothing, so it is allowed at the limit.
    assert (await post(amapi, postable(id=first, comment="still")))["silenceID"] == first
    # A replacement would add one: refused, and the old one is left as it was.
    changed = postable(id=first, matchers=[{"name": "a", "value": "b", "isRegex": False}])
    await post(amapi, changed, status=409)
    assert (await v2(amapi.client, first))["status"]["state"] == "active"
    big = postable(comment="x" * 400)
    assert "max_silence_bytes" in await post(amapi, big, status=413)
