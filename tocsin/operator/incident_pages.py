"""An incident's detail in bounded pages, built off the event loop.

A 90,400-alert storm incident once made a 36 MB detail; three such GETs in parallel held
``/-/healthy`` for seconds. Now a detail carries one page of the incident's alerts
(``alerts_limit``, by fingerprint, from ``alerts_cursor``) and one page of its timeline
(``timeline_limit`` events from position ``timeline_cursor``), each with a ``next``
link while there is more; its counts are always of the whole incident. The page is
chosen, rendered and encoded in a worker thread, so that the event loop only sends it.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from yarl import URL

from core.errors import FieldProblem, InvalidFields
from core.incident import Incident, IncidentEvent
from rules.priority import PriorityMatrix
from tocsin.operator.params import int_param
from tocsin.operator.render import incident_detail

DEFAULT_ALERTS = 100
MAX_ALERTS = 1000
DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
# Fingerprints are 16 hex digits (or a hash of a dedup key); a cursor is one of them.
_MAX_CURSOR_CHARS = 128


@dataclass(frozen=True, slots=True)
class DetailPage:
    """Which alerts and timeline events one detail response shows."""

    alerts_limit: int = DEFAULT_ALERTS
    alerts_cursor: str = ""  # the last fingerprint of the previous page; "" the first
    timeline_limit: int = DEFAULT_EVENTS
    timeline_cursor: int = 0  # the position of the first event to show


def parse_page(params: Mapping[str, str]) -> DetailPage:
    """Reads the page parameters; every bad one is named in a 400."""
    problems: list[FieldProblem] = []
    alerts_limit = int_param(params, "alerts_limit", DEFAULT_ALERTS, 1, MAX_ALERTS, problems)
    alerts_cursor = params.get("alerts_cursor", "")
    if len(alerts_cursor) > _MAX_CURSOR_CHARS:
        problems.append(FieldProblem("alerts_cursor", "is not a cursor this API gave"))
    timeline_limit = int_param(params, "timeline_limit", DEFAULT_EVENTS, 1, MAX_EVENTS, problems)
    timeline_cursor = int_param(params, "timeline_cursor", 0, 0, 999_999_999, problems)
    if problems:
        raise InvalidFields(problems)
    return DetailPage(alerts_limit, alerts_cursor, timeline_limit, timeline_cursor)


def render_page(
    incident: Incident,
    timeline: list[IncidentEvent],
    matrix: PriorityMatrix,
    page: DetailPage,
    url: URL,
) -> bytes:
    """The JSON body of one page of the incident's detail; CPU work for a worker thread.

    ``url`` is the request's own (path and query), from which the ``next`` links are made.
    """
    # The page's alerts and one more, to know whether another page follows: O(n log k).
    after = page.alerts_cursor
    chosen = heapq.nsmallest(page.alerts_limit + 1, (f for f in incident.alerts if f > after))
    alerts_next = None
    if len(chosen) > page.alerts_limit:
        chosen = chosen[: page.alerts_limit]
        alerts_next = str(url.update_query(alerts_cursor=chosen[-1]))
    start = min(page.timeline_cursor, len(timeline))
    events = timeline[start : start + page.timeline_limit]
    timeline_next = None
    if start + len(events) < len(timeline):
        timeline_next = str(url.update_query(timeline_cursor=start + len(events)))
    body: dict[str, Any] = incident_detail(
        incident, (incident.alerts[f] for f in chosen), events, matrix
    )
    body["alerts_page"] = {
        "limit": page.alerts_limit,
        "cursor": page.alerts_cursor or None,
        "next": alerts_next,
    }
    body["timeline_page"] = {
        "limit": page.timeline_limit,
        "cursor": start,
        "total": len(timeline),
        "next": timeline_next,
    }
    return orjson.dumps(body)
