"""An incident's detail in bounded pages, built off the event loop.

A 90,400-alert storm incident once made a 36 MB detail; three such GETs in parallel held
``/-/healthy`` for seconds. Now a detail carries one page of the incident's alerts
(``alerts_limit``, by fingerprint, from ``alerts_cursor``) and one page of its timeline
(``timeline_limit`` events from position ``timeline_cursor``), each with a ``next``
link while there is more; its counts are always of the whole incident. An alerts
cursor is a ``next`` link's (``tocsin.operator.cursors``, bound to the incident): any
other is a 400 naming it, as is a timeline position past the timeline's end.

A 570,000-alert incident still cost 15 s and hundreds of MB per page when the whole
incident was read to show one: now the store reads the page only (``IncidentStore``'s
``incident_summary``, ``incident_events_page`` and ``incident_alert_page``, which holds
one batch of documents at a time), and the page is rendered and encoded in a worker
thread, so that the event loop only sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from yarl import URL

from core.errors import FieldProblem, InvalidFields
from core.incident import Incident, IncidentEvent
from core.store import AlertPage, IncidentSummary
from rules.priority import PriorityMatrix
from tocsin.operator.cursors import decode_cursor, encode_cursor
from tocsin.operator.params import int_param, unknown_params
from tocsin.operator.render import JOINED_ALERTS_LISTED, incident_detail

DEFAULT_ALERTS = 100
MAX_ALERTS = 1000
DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
# Fingerprints are 16 hex digits (or a hash of a dedup key); a cursor holds one of them.
_MAX_FINGERPRINT_CHARS = 128


@dataclass(frozen=True, slots=True)
class DetailPage:
    """Which alerts and timeline events one detail response shows."""

    alerts_limit: int = DEFAULT_ALERTS
    alerts_cursor: str = ""  # the last fingerprint of the previous page; "" the first
    timeline_limit: int = DEFAULT_EVENTS
    timeline_cursor: int = 0  # the position of the first event to show


# Every parameter of a detail page (a GET or an action's answer), as a 400 names them.
PAGE_PARAMS = ("alerts_limit", "alerts_cursor", "timeline_limit", "timeline_cursor")


def _alerts_scope(incident_id: str) -> str:
    return orjson.dumps(["alerts", incident_id]).decode()


def alerts_cursor(incident_id: str, fingerprint: str) -> str:
    """The ``alerts_cursor`` of the page after ``fingerprint`` of the incident's alerts."""
    return encode_cursor(fingerprint, _alerts_scope(incident_id))


def parse_page(params: Mapping[str, str], incident_id: str) -> DetailPage:
    """Reads the page parameters; every bad one is named in a 400 (unknown ones too).

    ``alerts_cursor`` must be one a ``next`` link of this incident's pages gave.
    """
    problems: list[FieldProblem] = []
    unknown_params(params, PAGE_PARAMS, problems)
    alerts_limit = int_param(params, "alerts_limit", DEFAULT_ALERTS, 1, MAX_ALERTS, problems)
    alerts_cursor = ""
    if "alerts_cursor" in params:
        try:
            after = decode_cursor(params["alerts_cursor"], _alerts_scope(incident_id))
            if not isinstance(after, str) or not 0 < len(after) <= _MAX_FINGERPRINT_CHARS:
                raise ValueError(after)
            alerts_cursor = after
        except ValueError:
            problems.append(
                FieldProblem(
                    "alerts_cursor", "not a cursor of this incident's alerts; use a next link"
                )
            )
    timeline_limit = int_param(params, "timeline_limit", DEFAULT_EVENTS, 1, MAX_EVENTS, problems)
    timeline_cursor = int_param(params, "timeline_cursor", 0, 0, 999_999_999, problems)
    if problems:
        raise InvalidFields(problems)
    return DetailPage(alerts_limit, alerts_cursor, timeline_limit, timeline_cursor)


def check_timeline_position(page: DetailPage, total: int) -> None:
    """A 400 naming ``timeline_cursor`` if it is past the end of a timeline of ``total``."""
    if page.timeline_cursor > total:
        raise InvalidFields(
            [FieldProblem("timeline_cursor", f"past the timeline's end ({total} entries)")]
        )


def page_url(incident_id: str, page: DetailPage) -> URL:
    """The incident's detail URL with ``page``'s parameters that differ from the defaults.

    The URL an action's answer makes its ``next`` links from, as a GET's come from its
    own URL: a page size given to the action stays in them.
    """
    given = {
        "alerts_limit": (page.alerts_limit, DEFAULT_ALERTS),
        "alerts_cursor": (page.alerts_cursor, ""),
        "timeline_limit": (page.timeline_limit, DEFAULT_EVENTS),
        "timeline_cursor": (page.timeline_cursor, 0),
    }
    query = {name: str(value) for name, (value, default) in given.items() if value != default}
    if page.alerts_cursor:
        query["alerts_cursor"] = alerts_cursor(incident_id, page.alerts_cursor)
    return URL.build(path=f"/api/v1/incidents/{incident_id}", query=query)


def timeline_fingerprints(events: Iterable[IncidentEvent]) -> set[str]:
    """The fingerprints of the alerts whose labels a timeline page shows (render._detail)."""
    named: set[str] = set()
    for event in events:
        detail = event.detail
        fingerprint = detail.get("fingerprint")
        if isinstance(fingerprint, str):
            named.add(fingerprint)
        listed = detail.get("fingerprints")
        if isinstance(listed, list):
            named.update(f for f in listed if isinstance(f, str))
        joined = detail.get("alerts")
        if event.kind == "alerts_joined" and isinstance(joined, list):
            named.update(
                a["fingerprint"]
                for a in joined[:JOINED_ALERTS_LISTED]
                if isinstance(a, dict) and isinstance(a.get("fingerprint"), str)
            )
    return named


def render_page(
    summary: IncidentSummary,
    alerts: AlertPage,
    events: list[IncidentEvent],
    total_events: int,
    matrix: PriorityMatrix,
    page: DetailPage,
    url: URL,
) -> bytes:
    """The JSON body of one page of the incident's detail; CPU work for a worker thread.

    ``alerts`` is the store's page (after the cursor, by fingerprint) with the alerts
    the timeline page names; ``events`` the timeline page from ``page.timeline_cursor``
    of ``total_events``. ``url`` is the request's own, from which ``next`` links are made.
    """
    incident_id = summary.incident.id
    alerts_next = None
    if alerts.more and alerts.alerts:
        following = alerts_cursor(incident_id, alerts.alerts[-1].fingerprint)
        alerts_next = str(url.update_query(alerts_cursor=following))
    start = page.timeline_cursor
    timeline_next = None
    if start + len(events) < total_events:
        timeline_next = str(url.update_query(timeline_cursor=start + len(events)))
    # The incident as far as this page knows its alerts: the page's and the timeline's.
    known = {**alerts.named, **{a.fingerprint: a for a in alerts.alerts}}
    incident = replace(summary.incident, alerts=known)
    body: dict[str, Any] = incident_detail(
        incident, alerts.alerts, events, matrix, (summary.alerts, summary.firing)
    )
    body["alerts_page"] = {
        "limit": page.alerts_limit,
        "cursor": alerts_cursor(incident_id, page.alerts_cursor) if page.alerts_cursor else None,
        "next": alerts_next,
    }
    body["timeline_page"] = {
        "limit": page.timeline_limit,
        "cursor": min(start, total_events),
        "total": total_events,
        "next": timeline_next,
    }
    return orjson.dumps(body)


def render_after_change(
    summary: IncidentSummary,
    alerts: AlertPage,
    shown: list[IncidentEvent],
    total_before: int,
    added: Sequence[IncidentEvent],
    matrix: PriorityMatrix,
    page: DetailPage,
    url: URL,
) -> bytes:
    """The detail page a GET will answer once a change is written, built before it is.

    ``summary`` is the changed incident with its counts, ``alerts`` its page of alerts
    (with those the timeline page names); ``shown`` the timeline page the store held
    before the change (``page.timeline_cursor`` on, of ``total_before`` events), and
    ``added`` the change's events, which follow them. An action answers this page, and
    its idempotency record keeps it: a retry answers it again byte for byte.
    """
    events = after_change(shown, total_before, added, page)
    return render_page(summary, alerts, events, total_before + len(added), matrix, page, url)


def after_change(
    shown: list[IncidentEvent], total_before: int, added: Sequence[IncidentEvent], page: DetailPage
) -> list[IncidentEvent]:
    """The timeline page once ``added`` follow the ``total_before`` events stored."""
    start, limit = page.timeline_cursor, page.timeline_limit
    events = list(shown)
    for position, event in enumerate(added, total_before):
        if start <= position < start + limit:
            events.append(event)
    return events


def alert_page_of(
    incident: Incident, page: DetailPage, events: Iterable[IncidentEvent]
) -> AlertPage:
    """The page of alerts the store would read, from an incident that holds all its alerts."""
    ordered = sorted(f for f in incident.alerts if f > page.alerts_cursor)
    listed = [incident.alerts[f] for f in ordered[: page.alerts_limit]]
    named = {f: incident.alerts[f] for f in timeline_fingerprints(events) if f in incident.alerts}
    return AlertPage(listed, len(ordered) > page.alerts_limit, named)
