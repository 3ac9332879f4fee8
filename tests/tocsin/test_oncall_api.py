"""The on-call API: who is on call, a schedule's final shifts, the 400s naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.tocsin.oncall_rules import ADMIN, ONCALL_ENV, ONCALL_RULES, VIEWER
from tocsin.app import create_app

# Wednesday 4 March 2026, 11:00 in Berlin: Cy's override (from 12:00 Berlin) is not yet on.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path) -> Client:
    rules = tmp_path / "rules.yml"
    rules.write_text(ONCALL_RULES)
    settings = Settings(
        rules=rules, store=f"sqlite://{tmp_path / 'tocsin.db'}", correlator_mode="inline"
    )
    app = create_app(settings, clock=ManualClock(NOW), registry=CollectorRegistry(), env=ONCALL_ENV)
    return await aiohttp_client(app)


async def test_oncall_names_each_schedules_person_and_each_policys_first_level(
    client: Client,
) -> None:
    response = await client.get("/api/v1/oncall", headers=VIEWER)
    assert response.status == 200
    body = await response.json()
    assert body["at"] == "2026-03-04T10:00:00Z"
    [schedule] = body["schedules"]
    # Ana's week (the 9th turn from 5 January) began Monday 2 March 09:00 CET and runs to
    # Monday 9 March 09:00 CET, but Cy's override starts at 12:00 Berlin (11:00Z) on the
    # 4th: the shift ends there.
    assert schedule["people"] == [{"name": "ana", "display_name": "Ana Lima"}]
    assert schedule["shift"] == {
        "start": "2026-03-02T08:00:00Z",
        "end": "2026-03-04T11:00:00Z",
        "person": "ana",
        "source": "weekly",
    }
    [policy] = body["escalation_policies"]
    assert policy["name"] == "web"
    assert [p["name"] for p in policy["people"]] == ["ana", "cy"]
    assert policy["channels"] == ["hook"]
    assert policy["first_level"]["delay_seconds"] == 300
    assert [t["kind"] for t in policy["first_level"]["targets"]] == [
        "schedule",
        "person",
        "channel",
    ]


async def test_oncall_at_an_instant_inside_an_override_names_the_override(client: Client) -> None:
    response = await client.get("/api/v1/oncall?at=2026-03-04T12:00:00Z", headers=VIEWER)
    body = await response.json()
    shift = body["schedules"][0]["shift"]
    assert (shift["person"], shift["source"]) == ("cy", "override")
    assert shift["end"] == "2026-03-05T11:00:00Z"
    # The policy's schedule target and its person target are both Cy: named once.
    assert [p["name"] for p in body["escalation_policies"][0]["people"]] == ["cy"]


async def test_schedule_shifts_cover_the_range_without_gap_or_overlap(client: Client) -> None:
    response = await client.get(
        "/api/v1/schedules/web-weekly?from=2026-03-02T00:00:00Z&to=2026-03-10T00:00:00Z",
        headers=VIEWER,
    )
    assert response.status == 200
    body = await response.json()
    assert (body["from"], body["to"], body["time_zone"]) == (
        "2026-03-02T00:00:00Z",
        "2026-03-10T00:00:00Z",
        "Europe/Berlin",
    )
    rows = [(s["start"], s["end"], s["person"], s["source"]) for s in body["shifts"]]
    assert rows == [
        ("2026-03-02T00:00:00Z", "2026-03-02T08:00:00Z", "ben", "weekly"),
        ("2026-03-02T08:00:00Z", "2026-03-04T11:00:00Z", "ana", "weekly"),
        ("2026-03-04T11:00:00Z", "2026-03-05T11:00:00Z", "cy", "override"),
        ("2026-03-05T11:00:00Z", "2026-03-09T08:00:00Z", "ana", "weekly"),
        ("2026-03-09T08:00:00Z", "2026-03-10T00:00:00Z", "ben", "weekly"),
    ]
    assert body["shifts"][2]["people"] == [{"name": "cy", "display_name": "Cy Young"}]


async def test_schedule_shifts_default_to_the_next_seven_days(client: Client) -> None:
    body = await (await client.get("/api/v1/schedules/web-weekly", headers=VIEWER)).json()
    assert (body["from"], body["to"]) == ("2026-03-04T10:00:00Z", "2026-03-11T10:00:00Z")


BAD_REQUESTS: list[tuple[str, str]] = [
    # A range longer than 90 days is refused, naming `to`.
    ("/api/v1/schedules/web-weekly?from=2026-01-01T00:00:00Z&to=2026-04-02T00:00:00Z", "to"),
    # `to` before `from`.
    ("/api/v1/schedules/web-weekly?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "to"),
    # Not an RFC 3339 instant.
    ("/api/v1/schedules/web-weekly?from=yesterday", "from"),
    # Beyond the years shifts are computed for (datetime would overflow near 9999).
    ("/api/v1/schedules/web-weekly?from=9999-12-31T00:00:00Z", "from"),
    # An unknown parameter is named.
    ("/api/v1/schedules/web-weekly?since=2026-03-01T00:00:00Z", "since"),
    # `at` must be an instant.
    ("/api/v1/oncall?at=2026-03-04", "at"),
    # Unknown parameters of /oncall too.
    ("/api/v1/oncall?schedule=web-weekly", "schedule"),
]


@pytest.mark.parametrize(("url", "field"), BAD_REQUESTS)
async def test_bad_parameters_are_a_400_naming_the_field(
    client: Client, url: str, field: str
) -> None:
    response = await client.get(url, headers=VIEWER)
    assert response.status == 400
    body: dict[str, Any] = await response.json()
    assert field in [p["field"] for p in body["problems"]]


async def test_an_unknown_schedule_is_a_404_and_no_key_a_401(client: Client) -> None:
    assert (await client.get("/api/v1/schedules/nope", headers=VIEWER)).status == 404
    assert (await client.get("/api/v1/schedules/web-weekly")).status == 401
    assert (await client.get("/api/v1/oncall")).status == 401
    assert (await client.get("/api/v1/oncall", headers=ADMIN)).status == 200
