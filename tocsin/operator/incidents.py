"""``GET /api/v1/incidents`` and ``GET /api/v1/incidents/{id}``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from typing import TypeVar

import orjson
from aiohttp import web

from core.errors import FieldProblem, InvalidFields, NotFound
from core.incident import OPEN_STATES, IncidentState
from core.store import IncidentQuery
from rules.api_keys import Role
from rules.priority import PriorityMatrix, priority_name
from tocsin.keys import RULES, STORE
from tocsin.operator.auth import require
from tocsin.operator.incident_pages import (
    check_timeline_position,
    parse_page,
    render_page,
    timeline_fingerprints,
)
from tocsin.operator.params import (
    cursor_param,
    encode_position,
    int_param,
    text_param,
    time_param,
    unknown_params,
)
from tocsin.operator.render import etag, incident_summary

# Each state by its name, and ``open`` for every state of an open incident (the states
# change as the lifecycle grows; ``?state=open`` keeps selecting all that need work).
_STATES: dict[str, frozenset[IncidentState]] = {
    **{s.value: frozenset({s}) for s in IncidentState},
    "open": OPEN_STATES,
}
MAX_LIMIT = 1000
# The longest name of a service, team, category or person, and title text, a list takes.
MAX_NAME = 200
MAX_TITLE_TEXT = 200
_T = TypeVar("_T")
_NAMES = ("service", "team", "category", "assignee")
# Every parameter of the list, in the order a 400 names them.
LIST_PARAMS = (
    "state",
    "priority",
    *_NAMES,
    "since",
    "until",
    "q",
    "limit",
    "cursor",
)


# How many detail pages are read at once: a page of a storm incident streams all its
# alert batches (one at a time), so each read costs CPU; more wait their turn.
DETAIL_READS = 2


def add_incident_routes(router: web.UrlDispatcher) -> None:
    """Registers the incident endpoints."""
    router.add_get("/api/v1/incidents", list_incidents)
    router.add_get("/api/v1/incidents/{id}", IncidentDetail(DETAIL_READS).get)


async def list_incidents(request: web.Request) -> web.Response:
    """Lists a page of incidents, newest first, and the link to the next page.

    ``?state=a,b&priority=P1,P2&service=&team=&category=&assignee=&since=T&until=T&q=text
    &limit=N&cursor=C`` (see :func:`parse_query`); ``next`` is the same URL with the
    cursor of the next page, or null after the last. A cursor is a place in the order
    (opening time and id): pages walked while incidents are added neither repeat nor
    skip one. From the store's summaries: no incident's alerts are read, only their
    counts, and each filter is answered by an index.
    """
    require(request, Role.VIEWER)
    matrix = request.app[RULES].current.rules.priority.matrix
    query = parse_query(request.query, matrix)
    page = await request.app[STORE].incident_page(query)
    following = None
    if page.next is not None:
        cursor = encode_position(page.next, list_scope(query))
        following = str(request.rel_url.update_query(cursor=cursor))
    return web.json_response(
        {
            "incidents": [
                incident_summary(s.incident, matrix, (s.alerts, s.firing)) for s in page.summaries
            ],
            "next": following,
        }
    )


class IncidentDetail:
    """``GET /api/v1/incidents/{id}``, at most ``reads`` at once (one per application)."""

    def __init__(self, reads: int) -> None:
        self._reads = asyncio.Semaphore(reads)

    async def get(self, request: web.Request) -> web.Response:
        """Returns one incident with a page of its alerts and timeline, its counts and flags.

        ``?alerts_limit=N&alerts_cursor=C&timeline_limit=N&timeline_cursor=N``; see
        ``incident_pages``. The cost is the page's: the store reads the incident without
        its alerts, the timeline page, and the alerts of the page and those it names.
        """
        require(request, Role.VIEWER)
        store = request.app[STORE]
        incident_id = request.match_info["id"]
        page = parse_page(request.query, incident_id)
        async with self._reads:
            summary = await store.incident_summary(incident_id)
            if summary is None:
                raise NotFound(f"no incident {incident_id!r}", field="id")
            events, total = await store.incident_events_page(
                incident_id, page.timeline_cursor, page.timeline_limit
            )
            check_timeline_position(page, total)
            alerts = await store.incident_alert_page(
                incident_id, page.alerts_cursor, page.alerts_limit, timeline_fingerprints(events)
            )
        matrix = request.app[RULES].current.rules.priority.matrix
        # Rendering and encoding a page is CPU work: not on the event loop.
        body = await asyncio.to_thread(
            render_page, summary, alerts, events, total, matrix, page, request.rel_url
        )
        # The version the page shows: an action's If-Match takes it back.
        headers = {"ETag": etag(summary.incident)}
        return web.Response(body=body, content_type="application/json", headers=headers)


def parse_query(params: Mapping[str, str], matrix: PriorityMatrix) -> IncidentQuery:
    """Turns the list filters into a query; every bad parameter is named in a 400.

    ``state`` and ``priority`` take comma-separated lists of their fixed names (any of
    them); ``service``, ``team``, ``category`` and ``assignee`` one name each, which
    may hold a comma; ``q`` a text the title holds, in any case.
    """
    problems: list[FieldProblem] = []
    unknown_params(params, LIST_PARAMS, problems)
    states = _one_of(params, "state", _STATES, problems)
    priorities = _one_of(
        params,
        "priority",
        {name: frozenset({name}) for name in map(priority_name, range(1, matrix.levels + 1))},
        problems,
    )
    names = {name: text_param(params, name, MAX_NAME, problems) for name in _NAMES}
    title = text_param(params, "q", MAX_TITLE_TEXT, problems)
    since = time_param(params, "since", problems)
    until = time_param(params, "until", problems)
    limit = int_param(params, "limit", 100, 1, MAX_LIMIT, problems)
    query = IncidentQuery(
        states=states,
        priorities=priorities,
        service=names["service"],
        team=names["team"],
        category=names["category"],
        assignee=names["assignee"],
        title_contains=title,
        opened_after=since,
        opened_before=until,
        limit=limit,
    )
    # A cursor is judged against the filters once they read well (else they are named).
    after = None if problems else cursor_param(params, list_scope(query), problems)
    if problems:
        raise InvalidFields(problems)
    return replace(query, after=after)


def list_scope(query: IncidentQuery) -> str:
    """What a list's cursors are bound to: the filters that choose its incidents.

    ``since`` and ``until`` aside: ``tocsin incidents list --since 24h`` makes a new
    instant at each run, and a cursor is itself a place in time, which a window can
    only end sooner or later. ``state=open`` and the three open states are one list.
    """
    states = None if query.states is None else sorted(s.value for s in query.states)
    priorities = None if query.priorities is None else sorted(query.priorities)
    chosen = [states, priorities, query.service, query.team, query.category, query.assignee]
    return orjson.dumps(["incidents", *chosen, query.title_contains]).decode()


def _one_of(
    params: Mapping[str, str],
    name: str,
    choices: Mapping[str, frozenset[_T]],
    problems: list[FieldProblem],
) -> frozenset[_T] | None:
    """The union of the choices a comma-separated parameter names; None when absent."""
    if name not in params:
        return None
    given = [n.strip() for n in params[name].split(",") if n.strip()]
    unknown = [n for n in given if n not in choices]
    if unknown or not given:
        problems.append(
            FieldProblem(
                name,
                f"unknown {name} {', '.join(unknown)[:200] or '(empty)'}; use {', '.join(choices)}",
            )
        )
        return None
    return frozenset[_T]().union(*(choices[n] for n in given))
