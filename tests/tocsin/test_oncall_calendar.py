"""Calendar feeds: iCalendar per schedule and per person, opened only by the current token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from icalendar import Calendar
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from escalation.oncall import final_shifts
from rules.calendar_feeds import CalendarFeeds, FeedKind
from rules.loader import load_rules
from rules.model import Rules
from tests.tocsin.oncall_rules import ADMIN, ONCALL_ENV, ONCALL_RULES, VIEWER
from tocsin.app import create_app
from tocsin.operator.calendar import feed_range

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(ONCALL_RULES)
    return path


@pytest.fixture
def rules(rules_file: Path) -> Rules:
    return load_rules(rules_file, ONCALL_ENV)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Awaitable[Client]], rules_file: Path, tmp_path: Path
) -> Client:
    settings = Settings(
        rules=rules_file, store=f"sqlite://{tmp_path / 'tocsin.db'}", correlator_mode="inline"
    )
    app = create_app(settings, clock=ManualClock(NOW), registry=CollectorRegistry(), env=ONCALL_ENV)
    return await aiohttp_client(app)


def token(rules: Rules, kind: FeedKind, name: str) -> str:
    assert rules.calendar_feeds is not None
    return rules.calendar_feeds.token(kind, name)


async def test_a_schedule_feed_holds_its_final_shifts_as_events(
    client: Client, rules: Rules
) -> None:
    url = f"/api/v1/calendar/schedules/web-weekly.ics?token={token(rules, FeedKind.SCHEDULE, 'web-weekly')}"
    # No Authorization header: calendar clients send none.
    response = await client.get(url)
    assert response.status == 200
    assert response.content_type == "text/calendar"
    assert "private" in response.headers["Cache-Control"]
    calendar = Calendar.from_ical(await response.read())
    assert str(calendar["X-WR-CALNAME"]) == "On call: Web on-call"
    events = calendar.walk("VEVENT")
    expected = final_shifts(rules.schedules["web-weekly"], *feed_range(NOW))
    got = [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in events]
    assert got == [(s.start, s.end) for s in expected]
    summaries = [str(e["SUMMARY"]) for e in events]
    assert "On call: Cy Young (Web on-call)" in summaries
    assert len({str(e["UID"]) for e in events}) == len(events)


async def test_a_person_feed_holds_only_that_persons_shifts(client: Client, rules: Rules) -> None:
    response = await client.get(
        f"/api/v1/calendar/people/cy.ics?token={token(rules, FeedKind.PERSON, 'cy')}"
    )
    assert response.status == 200
    [event] = Calendar.from_ical(await response.read()).walk("VEVENT")
    # Cy's one override: 12:00 to 12:00 Berlin (CET), 4 to 5 March.
    assert event.decoded("DTSTART") == datetime(2026, 3, 4, 11, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(days=1)
    assert str(event["SUMMARY"]) == "On call: Cy Young (Web on-call)"


def refusals(rules: Rules) -> list[tuple[str, str]]:
    feeds = rules.calendar_feeds
    assert feeds is not None
    ben_first = CalendarFeeds(feeds.secret).token(FeedKind.PERSON, "ben")
    ana = token(rules, FeedKind.PERSON, "ana")
    return [
        # A revoked URL: ben's generation is 2 in the rules; his generation-0 token is dead.
        ("revoked", f"/api/v1/calendar/people/ben.ics?token={ben_first}"),
        # A wrong token.
        ("wrong", "/api/v1/calendar/people/ana.ics?token=AAAAAAAAAAAAAAAAAAAAAA"),
        # No token at all.
        ("missing", "/api/v1/calendar/people/ana.ics"),
        # Another feed's token: ana's token does not open the schedule's feed.
        ("other feed", f"/api/v1/calendar/schedules/web-weekly.ics?token={ana}"),
        # An unknown name, even with a token made for it: the same 404 as the others.
        (
            "unknown",
            f"/api/v1/calendar/people/zed.ics?token={token(rules, FeedKind.PERSON, 'zed')}",
        ),
    ]


async def test_a_wrong_revoked_or_missing_token_is_the_same_404(
    client: Client, rules: Rules
) -> None:
    bodies = []
    for why, url in refusals(rules):
        response = await client.get(url)
        assert response.status == 404, why
        bodies.append(await response.json())
    # One answer for all: it does not tell which feeds exist.
    assert all(b == bodies[0] for b in bodies)
    current = token(rules, FeedKind.PERSON, "ben")
    assert (await client.get(f"/api/v1/calendar/people/ben.ics?token={current}")).status == 200


async def test_the_feed_list_is_for_admins_and_gives_working_urls(client: Client) -> None:
    assert (await client.get("/api/v1/calendar/feeds", headers=VIEWER)).status == 403
    response = await client.get("/api/v1/calendar/feeds", headers=ADMIN)
    assert response.status == 200
    body = await response.json()
    assert set(body["people"]) == {"ana", "ben", "cy"}
    assert (await client.get(body["people"]["ana"])).status == 200
    assert (await client.get(body["schedules"]["web-weekly"])).status == 200
