"""Silence errors name what applied: the body limit's flag, an end in the past (issue 9, item 11)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.timestamps import format_rfc3339
from tests.app_harness import ENV, RESPONDER, START
from tocsin.app import create_app

Client = TestClient  # type: ignore[type-arg]
SILENCE = {
    "matchers": ['alertname="DiskFull"'],
    "ends_at": format_rfc3339(START + timedelta(hours=2)),
    "comment": "disk swap",
}


async def client_with(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    **limits: object,
) -> Client:
    app = create_app(
        make_settings(**limits), clock=ManualClock(START), registry=CollectorRegistry(), env=ENV
    )
    return await aiohttp_client(app)


async def test_without_a_silence_limit_a_large_body_names_max_body_bytes(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client = await client_with(
        aiohttp_client, make_settings, max_silence_bytes=0, max_body_bytes=20_000
    )

    refused = await client.post(
        "/api/v1/silences", json={**SILENCE, "comment": "x" * 30_000}, headers=RESPONDER
    )

    assert refused.status == 413
    body = await refused.json()
    assert body["field"] == "max_body_bytes"
    assert "--max-body-bytes" in body["error"]
    assert "--max-silence-bytes" not in body["error"]


async def test_with_a_silence_limit_a_large_body_names_max_silence_bytes(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client = await client_with(aiohttp_client, make_settings, max_silence_bytes=1024)

    refused = await client.post(
        "/api/v1/silences", json={**SILENCE, "comment": "x" * 30_000}, headers=RESPONDER
    )

    assert refused.status == 413
    body = await refused.json()
    assert body["field"] == "max_silence_bytes"
    # The size refused is not the flag's: the 413 says how one follows from the other.
    assert body["error"] == (
        "a silence body is at most 6144 bytes (twice --max-silence-bytes (1024) and 4096"
        " for the JSON around it)"
    )


async def test_an_end_in_the_past_without_a_start_says_it_is_in_the_past(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client = await client_with(aiohttp_client, make_settings)
    past = {**SILENCE, "ends_at": format_rfc3339(START - timedelta(hours=1))}

    refused = await client.post("/api/v1/silences", json=past, headers=RESPONDER)

    assert refused.status == 400
    problems = (await refused.json())["problems"]
    [problem] = [p for p in problems if p["field"] == "ends_at"]
    assert "in the past" in problem["reason"]
    assert "starts_at" not in problem["reason"]


async def test_an_end_before_a_future_start_says_so(
    aiohttp_client: Callable[..., Awaitable[Client]], make_settings: Callable[..., Settings]
) -> None:
    client = await client_with(aiohttp_client, make_settings)
    backwards = {
        **SILENCE,
        "starts_at": format_rfc3339(START + timedelta(hours=3)),
        "ends_at": format_rfc3339(START + timedelta(hours=2)),
    }

    refused = await client.post("/api/v1/silences", json=backwards, headers=RESPONDER)

    assert refused.status == 400
    problems = (await refused.json())["problems"]
    assert {"field": "ends_at", "reason": "must be after the start"} in problems
