"""Who may send and how much: authentication, body limits, content type, rate limits."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from tests.app_harness import AM_AUTH, HOOK_AUTH, PROM_AUTH, Ingest
from tests.ingest.payloads import A1_FIRING, PROMETHEUS_FIRING


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        # No credentials at all.
        ("/ingest/alertmanager", {}),
        # A wrong bearer token.
        ("/ingest/alertmanager", {"Authorization": "Bearer am-secreT"}),
        # The right token, but for another endpoint's source: tokens are per source.
        ("/ingest/alertmanager", HOOK_AUTH),
        # Basic auth with a wrong password.
        ("/api/v2/alerts", basic("prometheus", "nope")),
        # Basic auth with a wrong user name and the right password.
        ("/api/v2/alerts", basic("grafana", "prom-secret")),
        # Basic auth that is not base64.
        ("/api/v2/alerts", {"Authorization": "Basic %%%"}),
        # A bearer token where basic auth is configured.
        ("/api/v2/alerts", {"Authorization": "Bearer prom-secret"}),
    ],
)
async def test_requests_without_valid_credentials_get_401_and_store_nothing(
    ingest: Ingest, path: str, headers: dict[str, str]
) -> None:
    body = A1_FIRING if path == "/ingest/alertmanager" else PROMETHEUS_FIRING
    response = await ingest.client.post(path, json=body, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["code"] == 401
    assert await ingest.stored() == []


async def test_body_over_the_limit_gets_413(ingest: Ingest) -> None:
    big = [{"labels": {"alertname": "A", "pad": "x" * 70_000}}]
    response = await ingest.client.post("/api/v2/alerts", json=big, headers=PROM_AUTH)
    assert response.status == 413
    assert await ingest.stored() == []
    assert ingest.metric("tocsin_alerts_rejected_total", source="prom", reason="too_large") == 1


async def test_body_that_is_not_json_typed_gets_415(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/api/v2/alerts", data=b"[]", headers={**PROM_AUTH, "Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]


async def test_body_that_is_not_json_gets_400_naming_the_body(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/api/v2/alerts", data=b"[{", headers={**PROM_AUTH, "Content-Type": "application/json"}
    )
    assert response.status == 400
    [problem] = (await response.json())["problems"]
    assert problem["index"] is None
    assert "not valid JSON" in problem["reason"]


async def test_source_over_its_rate_limit_gets_429_with_retry_after_then_recovers(
    ingest: Ingest,
) -> None:
    # The "hooks" source allows a burst of 3 alerts, then 1 per second.
    alerts = [{"dedup_key": f"k{i}", "summary": "s"} for i in range(3)]
    assert (
        await ingest.client.post("/ingest/webhook", json=alerts, headers=HOOK_AUTH)
    ).status == 200
    over = await ingest.client.post(
        "/ingest/webhook", json={"dedup_key": "k9", "summary": "s"}, headers=HOOK_AUTH
    )
    assert over.status == 429
    assert over.headers["Retry-After"] == "1"
    assert len(await ingest.stored()) == 3
    ingest.clock.advance(timedelta(seconds=1))
    again = await ingest.client.post(
        "/ingest/webhook", json={"dedup_key": "k9", "summary": "s"}, headers=HOOK_AUTH
    )
    assert again.status == 200
    assert ingest.metric("tocsin_alerts_rejected_total", source="hooks", reason="rate_limited") == 1


async def test_other_sources_are_not_rate_limited_by_one_that_is(ingest: Ingest) -> None:
    for _ in range(5):
        response = await ingest.client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
        assert response.status == 200
