"""``GET /api/v1/incidents/{id}/report``: a closed incident's closure report.

Markdown by default; HTML when ``?format=html`` or an ``Accept`` that prefers
``text/html`` (a browser). ``?format=`` wins over ``Accept``. A 409 for an incident not
closed yet, naming ``state``; 404 for an unknown one; any API key (viewer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

from core.errors import FieldProblem, InvalidFields
from rules.api_keys import Role
from tocsin.keys import RULES, STORE
from tocsin.operator.auth import require
from tocsin.reports.closure import closure_report
from tocsin.reports.closure_render import render_html, render_markdown

FORMATS = ("markdown", "html")
_CONTENT_TYPES = {"markdown": "text/markdown", "html": "text/html"}


def add_report_routes(router: web.UrlDispatcher) -> None:
    """Registers the closure report's endpoint."""
    router.add_get("/api/v1/incidents/{id}/report", get_report)


def report_format(query: Mapping[str, str], accept: str) -> str:
    """``markdown`` or ``html``, from ``?format=`` or else the Accept header; 400 if unknown."""
    given = query.get("format")
    if given is not None:
        if given not in FORMATS:
            raise InvalidFields([FieldProblem("format", f"must be one of {', '.join(FORMATS)}")])
        return given
    html = _quality(accept, "text/html")
    markdown = max(_quality(accept, "text/markdown"), _quality(accept, "text/plain"))
    return "html" if html > markdown else "markdown"


def _quality(accept: str, media: str) -> float:
    """The q-value ``accept`` gives ``media`` (exactly, not by a wildcard); 0 if not named."""
    for item in accept.split(","):
        name, *params = (p.strip() for p in item.split(";"))
        if name.lower() != media:
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value)
                except ValueError:
                    return 0.0
        return 1.0
    return 0.0


async def get_report(request: web.Request) -> web.Response:
    """Answers the closure report of a closed incident, in Markdown or HTML."""
    require(request, Role.VIEWER)
    chosen = report_format(request.query, request.headers.get("Accept", ""))
    store = request.app[STORE]
    priority = request.app[RULES].current.rules.priority
    report = await closure_report(store, store, priority, request.match_info["id"])
    render = render_html if chosen == "html" else render_markdown
    # Rendering a long timeline is CPU work: not on the event loop.
    text = await asyncio.to_thread(render, report)
    return web.Response(
        text=text,
        content_type=_CONTENT_TYPES[chosen],
        charset="utf-8",
        headers={"Vary": "Accept", "X-Content-Type-Options": "nosniff"},
    )
