"""Silences' limits and lifetime: counts, sizes, a bounded body, retention (issue 9, item 14)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.timestamps import format_rfc3339
from tests.app_harness import ENV, RESPONDER, START, VIEWER, Ingest
from tests.support import poll_until
from tocsin.app import create_app
from tocsin.keys import STORE
from tocsin.silence_retention import delete_expired_silences

Client = TestClient  # type: ignore[type-arg]
SILENCE = {
    "matchers": ['alertname="DiskFull"'],
    "ends_at": format_rfc3339(START + timedelta(hours=2)),
    "comment": "disk swap",
}


async def limited(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    **limits: object,
) -> tuple[Client, ManualClock]:
    clock = ManualClock(START)
    app = create_app(make_settings(**limits), clock=clock, registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app), clock


def test_the_defaults_are_safe() -> None:
    # Alertmanager's defaults are 0 (unlimited); Tocsin's are not.
    settings = Settings()
    assert settings.max_silences == 10_000
    assert settings.max_silence_bytes == 64 * 1024
    assert settings.silence_retention_seconds == 5 * 24 * 3600


async def test_past_max_silences_a_new_one_is_refused_naming_the_limit(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client, _ = await limited(aiohttp_client, make_settings, max_silences=2)
    for _ in range(2):
        assert (
            await client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)
        ).status == 201
    first = (await (await client.get("/api/v1/silences", headers=VIEWER)).json())["silences"][0]
    # An expired silence still counts, as in Alertmanager, until retention deletes it.
    await client.delete(f"/api/v1/silences/{first['id']}", headers=RESPONDER)

    refused = await client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)

    assert refused.status == 409
    body = await refused.json()
    assert body["field"] == "max_silences"
    assert "--max-silences" in body["error"]
    assert await client.app[STORE].count_silences() == 2


async def test_a_silence_over_max_silence_bytes_is_refused_naming_the_limit(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client, _ = await limited(aiohttp_client, make_settings, max_silence_bytes=1024)
    # A body within twice the limit, whose silence is over it.
    big = {**SILENCE, "comment": "x" * 1500}

    refused = await client.post("/api/v1/silences", json=big, headers=RESPONDER)

    assert refused.status == 413
    body = await refused.json()
    assert body["field"] == "max_silence_bytes"
    assert "index" not in body
    assert "accepted" not in body
    assert await client.app[STORE].list_silences() == []


async def test_a_huge_silence_body_is_refused_before_it_is_parsed(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client, _ = await limited(aiohttp_client, make_settings, max_silence_bytes=1024)
    # The attack: 150,000 matchers in one POST. Not valid JSON at the end either: were it
    # parsed, the answer would be a 400, not a 413.
    matchers = ",".join(f'"m{n}=\\"v\\""' for n in range(150_000))
    body = ('{"matchers": [' + matchers + '], "comment": "x"').encode()

    refused = await client.post(
        "/api/v1/silences",
        data=body,
        headers={**RESPONDER, "Content-Type": "application/json"},
    )

    assert refused.status == 413
    assert (await refused.json())["field"] == "max_silence_bytes"


async def test_a_chunked_body_is_bounded_too(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client, _ = await limited(aiohttp_client, make_settings, max_silence_bytes=1024)

    async def chunks():  # type: ignore[no-untyped-def]
        # No Content-Length: the limit must hold while reading.
        yield b'{"comment": "'
        for _ in range(100):
            yield b"x" * 1024

    refused = await client.post(
        "/api/v1/silences",
        data=chunks(),
        headers={**RESPONDER, "Content-Type": "application/json"},
    )

    assert refused.status == 413


async def test_zero_lifts_the_limits(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client, _ = await limited(aiohttp_client, make_settings, max_silences=0, max_silence_bytes=0)
    big = {**SILENCE, "comment": "x" * 200_000}
    for _ in range(3):
        assert (await client.post("/api/v1/silences", json=big, headers=RESPONDER)).status == 201


async def test_expired_silences_are_deleted_after_their_retention(ingest: Ingest) -> None:
    client = ingest.client
    store = client.app[STORE]
    created = await (await client.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)).json()
    ended = await (
        await client.post(
            "/api/v1/silences",
            json={**SILENCE, "ends_at": format_rfc3339(START + timedelta(minutes=10))},
            headers=RESPONDER,
        )
    ).json()
    retention = timedelta(days=5)
    # Ten minutes and five days later: the short one ended exactly `retention` ago.
    ingest.clock.advance(timedelta(minutes=10) + retention)
    assert await delete_expired_silences(store, ingest.clock, retention) == 0
    ingest.clock.advance(timedelta(seconds=1))

    assert await delete_expired_silences(store, ingest.clock, retention) == 1

    assert await store.get_silence(ended["id"]) is None
    # Ended too, but later (at two hours): kept until its own retention ends.
    kept = await client.get(f"/api/v1/silences/{created['id']}", headers=VIEWER)
    assert (await kept.json())["state"] == "expired"


async def test_serve_deletes_expired_silences_when_it_starts(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    first, clock = await limited(aiohttp_client, make_settings, silence_retention_seconds=60)
    created = await (await first.post("/api/v1/silences", json=SILENCE, headers=RESPONDER)).json()
    await first.close()
    later = ManualClock(clock.now() + timedelta(hours=3))
    settings = make_settings(silence_retention_seconds=60)

    second = await aiohttp_client(
        create_app(settings, clock=later, registry=CollectorRegistry(), env=ENV)
    )

    store = second.app[STORE]

    async def deleted() -> bool | None:
        # The first round runs in a task of its own as the server starts.
        return True if await store.get_silence(created["id"]) is None else None

    assert await poll_until(deleted, deadline_seconds=10, interval=0.02)
