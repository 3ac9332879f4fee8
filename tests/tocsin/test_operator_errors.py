"""The operator API's own error shape, strict query integers, and the rules' silences.

Issue 9, items 24 and 27: ``limit=\u0665`` (Arabic-Indic five) and ``limit=1_0`` were
accepted; operator errors carried the ingest fields ``index`` and ``accepted``;
rules-file silences were missing from ``GET /api/v1/silences``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.timestamps import format_rfc3339
from tests.app_harness import ENV, RESPONDER, RULES, START, VIEWER, Ingest
from tocsin.app import create_app
from tocsin.operator.params import ascii_int

Client = TestClient  # type: ignore[type-arg]


@pytest.mark.parametrize(
    "limit",
    [
        # Arabic-Indic five: int() reads it as 5.
        "\u0665",
        # An underscore between digits: int() reads it as 10.
        "1_0",
        # A sign.
        "+5",
        # Surrounding spaces.
        " 5 ",
        # Fullwidth digits.
        "\uff15",
        # Superscript two (isdigit() is true for it, int() refuses it).
        "\u00b2",
        # Too many digits to be a limit.
        "0000000001",
    ],
)
async def test_a_limit_not_in_ascii_digits_is_a_400_naming_it(ingest: Ingest, limit: str) -> None:
    response = await ingest.client.get("/api/v1/incidents", params={"limit": limit}, headers=VIEWER)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == "limit"
    assert [p["field"] for p in body["problems"]] == ["limit"]


def test_ascii_int_reads_plain_digits_only() -> None:
    assert ascii_int("42") == 42
    assert ascii_int("007") == 7
    assert ascii_int("") is None
    assert ascii_int("-1") is None
    assert ascii_int("1e3") is None


async def test_operator_errors_carry_no_ingest_fields(ingest: Ingest) -> None:
    response = await ingest.client.get("/api/v1/incidents?limit=0&state=burning", headers=VIEWER)
    body = await response.json()
    assert response.status == 400
    # The first field at fault, and each problem with its reason; nothing about batches.
    assert body["field"] == "state"
    assert {p["field"] for p in body["problems"]} == {"state", "limit"}
    assert "accepted" not in body
    assert all(set(p) == {"field", "reason"} for p in body["problems"])
    assert body["error"]


async def test_a_bad_silence_body_is_named_without_ingest_fields(ingest: Ingest) -> None:
    response = await ingest.client.post(
        "/api/v1/silences",
        data=b"[1, 2]",
        headers={**RESPONDER, "Content-Type": "application/json"},
    )
    body = await response.json()
    assert response.status == 400
    assert body["field"] == "body"
    assert "accepted" not in body
    assert "index" not in body["problems"][0]


RULES_WITH_SILENCES = (
    RULES
    + """
silences:
  - name: legacy-db
    matchers: ['instance="legacy-db-1:9187"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2030-06-30T00:00:00Z
    comment: legacy-db-1 is being decommissioned
    created_by: dev
  - matchers: ['service="old"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2026-02-01T00:00:00Z
    comment: gone
    created_by: dev
"""
)


@pytest.fixture
async def with_rules_silences(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
) -> Client:
    settings = make_settings()
    settings.rules.write_text(RULES_WITH_SILENCES)
    app = create_app(settings, clock=ManualClock(START), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)


async def test_rules_silences_are_listed_read_only(with_rules_silences: Client) -> None:
    client = with_rules_silences
    silence = {
        "matchers": ['alertname="DiskFull"'],
        "ends_at": format_rfc3339(START + timedelta(hours=1)),
        "comment": "swap",
    }
    created = await (await client.post("/api/v1/silences", json=silence, headers=RESPONDER)).json()

    listed = (await (await client.get("/api/v1/silences", headers=VIEWER)).json())["silences"]

    assert [(s["id"], s["source"], s["read_only"]) for s in listed] == [
        (created["id"], "api", False),
        ("rules:legacy-db", "rules", True),
        ("rules:2", "rules", True),
    ]
    legacy = listed[1]
    assert legacy["matchers"] == ['instance="legacy-db-1:9187"']
    assert legacy["state"] == "active"
    assert legacy["comment"] == "legacy-db-1 is being decommissioned"
    assert listed[2]["state"] == "expired"
    one = await client.get("/api/v1/silences/rules:legacy-db", headers=VIEWER)
    assert (await one.json()) == legacy


async def test_deleting_a_rules_silence_is_a_409_saying_where_it_lives(
    with_rules_silences: Client,
) -> None:
    response = await with_rules_silences.delete(
        "/api/v1/silences/rules:legacy-db", headers=RESPONDER
    )
    assert response.status == 409
    body = await response.json()
    assert "rules files" in body["error"]
    assert body["field"] == "id"
    missing = await with_rules_silences.get("/api/v1/silences/rules:nope", headers=VIEWER)
    assert missing.status == 404
