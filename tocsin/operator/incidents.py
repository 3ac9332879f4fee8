"""``GET /api/v1/incidents`` and ``GET /api/v1/incidents/{id}``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

from core.errors import FieldProblem, InvalidFields, NotFound
from core.incident import OPEN_STATES, IncidentState
from core.store import IncidentQuery
from rules.api_keys import Role
from tocsin.keys import RULES, STORE
from tocsin.operator.auth import require
from tocsin.operator.incident_pages import parse_page, render_page, timeline_fingerprints
from tocsin.operator.params import int_param, time_param
from tocsin.operator.render import etag, incident_summary

# Each state by its name, and ``open`` for every state of an open incident (the states
# change as the lifecycle grows; ``?state=open`` keeps selecting all that need work).
_STATES: dict[str, frozenset[IncidentState]] = {
    **{s.value: frozenset({s}) for s in IncidentState},
    "open": OPEN_STATES,
}
MAX_LIMIT = 1000


# How many detail pages are read at once: a page of a storm incident streams all its
# alert batches (one at a time), so each read costs CPU; more wait their turn.
DETAIL_READS = 2


def add_incident_routes(router: web.UrlDispatcher) -> None:
    """Registers the incident endpoints."""
    router.add_get("/api/v1/incidents", list_incidents)
    router.add_get("/api/v1/incidents/{id}", IncidentDetail(DETAIL_READS).get)


async def list_incidents(request: web.Request) -> web.Response:
    """Lists incidents, newest first: ``?state=a,b&service=s&since=T&until=T&limit=N``.

    From the store's summaries: no incident's alerts are read, only their counts.
    """
    require(request, Role.VIEWER)
    query = parse_query(request.query)
    summaries = await request.app[STORE].incident_summaries(query)
    matrix = request.app[RULES].current.rules.priority.matrix
    return web.json_response(
        {
            "incidents": [
                incident_summary(s.incident, matrix, (s.alerts, s.firing)) for s in summaries
            ]
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
        page = parse_page(request.query)
        async with self._reads:
            summary = await store.incident_summary(incident_id)
            if summary is None:
                raise NotFound(f"no incident {incident_id!r}")
            events, total = await store.incident_events_page(
                incident_id, page.timeline_cursor, page.timeline_limit
            )
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


def parse_query(params: Mapping[str, str]) -> IncidentQuery:
    """Turns the list filters into a query; every bad parameter is named in a 400."""
    problems: list[FieldProblem] = []
    states = None
    if "state" in params:
        names = [n.strip() for n in params["state"].split(",") if n.strip()]
        unknown = [n for n in names if n not in _STATES]
        if unknown or not names:
            problems.append(
                FieldProblem(
                    "state",
                    f"unknown state {', '.join(unknown) or '(empty)'}; use {', '.join(_STATES)}",
                )
            )
        else:
            states = frozenset[IncidentState]().union(*(_STATES[n] for n in names))
    since = time_param(params, "since", problems)
    until = time_param(params, "until", problems)
    limit = int_param(params, "limit", 100, 1, MAX_LIMIT, problems)
    if problems:
        raise InvalidFields(problems)
    return IncidentQuery(
        states=states,
        service=params.get("service"),
        opened_after=since,
        opened_before=until,
        limit=limit,
    )
