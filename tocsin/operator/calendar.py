"""iCalendar feeds of on-call shifts, per schedule and per person, for calendar clients.

Calendar clients poll a URL and send no headers, so the credential is a token in the
URL (``?token=``), derived from the rules' ``calendar_feeds`` secret and the feed's
generation (``rules.calendar_feeds``): bumping the generation revokes a URL. A wrong or
revoked token, an unknown name, and rules without ``calendar_feeds`` all answer the
same 404, so the answer does not tell which feeds exist.

A feed covers the last 14 days and the next 90, in whole UTC days.
``GET /api/v1/calendar/feeds`` (admin key) lists the current URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from core.errors import NotFound
from escalation.oncall import final_shifts, shifts_of_person
from escalation.oncall_ics import shifts_calendar
from rules.api_keys import Role
from rules.calendar_feeds import FeedKind
from rules.model import Rules
from tocsin.keys import CLOCK, RULES
from tocsin.operator.auth import require

PAST = timedelta(days=14)
AHEAD = timedelta(days=90)
_CONTENT_TYPE = "text/calendar"
_PATHS = {FeedKind.SCHEDULE: "schedules", FeedKind.PERSON: "people"}


def add_calendar_routes(router: web.UrlDispatcher) -> None:
    """Registers the feed endpoints and the admin listing of their URLs."""
    router.add_get("/api/v1/calendar/schedules/{name}.ics", get_schedule_feed)
    router.add_get("/api/v1/calendar/people/{name}.ics", get_person_feed)
    router.add_get("/api/v1/calendar/feeds", list_feeds)


def feed_range(now: datetime) -> tuple[datetime, datetime]:
    """The range a feed covers: whole UTC days, so a client polling all day reads one feed.

    (Shifts are cut at the range's ends; were the range to move with every poll, the
    first event would change its start, and its UID, each time.)
    """
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - PAST, today + AHEAD + timedelta(days=1)


def feed_path(rules: Rules, kind: FeedKind, name: str) -> str | None:
    """The path and query of a feed's current URL; None without ``calendar_feeds``."""
    feeds = rules.calendar_feeds
    if feeds is None:
        return None
    return f"/api/v1/calendar/{_PATHS[kind]}/{name}.ics?token={feeds.token(kind, name)}"


def _authorised(
    request: web.Request, rules: Rules, kind: FeedKind, names: Mapping[str, object]
) -> None:
    """Returns if the URL's token opens this feed; else raises the one 404 for everything."""
    name = request.match_info["name"]
    feeds = rules.calendar_feeds
    token = request.query.get("token", "")
    # The token is checked (in constant time) before the name, for any name.
    accepted = feeds is not None and feeds.accepts(kind, name, token)
    if not accepted or name not in names:
        raise NotFound("no such calendar feed, or its token is wrong or revoked", field="token")


async def get_schedule_feed(request: web.Request) -> web.Response:
    """A schedule's final shifts as iCalendar, nobody-on-call gaps included."""
    rules = request.app[RULES].current.rules
    _authorised(request, rules, FeedKind.SCHEDULE, rules.schedules)
    schedule = rules.schedules[request.match_info["name"]]
    now = request.app[CLOCK].now()
    shifts = [(schedule, s) for s in final_shifts(schedule, *feed_range(now))]
    title = f"On call: {schedule.display_name}"
    body = shifts_calendar(title, shifts, rules.people, now, include_nobody=True)
    return _calendar(body)


async def get_person_feed(request: web.Request) -> web.Response:
    """One person's shifts in every schedule, as iCalendar."""
    rules = request.app[RULES].current.rules
    _authorised(request, rules, FeedKind.PERSON, rules.people)
    name = request.match_info["name"]
    now = request.app[CLOCK].now()
    shifts = shifts_of_person(list(rules.schedules.values()), name, *feed_range(now))
    person = rules.people[name]
    title = f"On call: {person.display_name}"
    body = shifts_calendar(title, shifts, rules.people, now, include_nobody=False)
    return _calendar(body)


async def list_feeds(request: web.Request) -> web.Response:
    """Every feed's current URL (path and query), for an admin to hand out."""
    require(request, Role.ADMIN)
    rules = request.app[RULES].current.rules
    if rules.calendar_feeds is None:
        raise NotFound("the rules have no calendar_feeds section", field="calendar_feeds")
    body = {
        "schedules": {n: feed_path(rules, FeedKind.SCHEDULE, n) for n in rules.schedules},
        "people": {n: feed_path(rules, FeedKind.PERSON, n) for n in rules.people},
    }
    return web.json_response(body)


def _calendar(body: bytes) -> web.Response:
    response = web.Response(body=body, content_type=_CONTENT_TYPE, charset="utf-8")
    # The URL is the credential: keep the feed out of shared caches.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
