"""Alertmanager's API v2, read side and silences, so its tools work against Tocsin.

amtool, Grafana's Alertmanager data source and Karma speak this API. Tocsin answers it
from its own state: open incidents' firing alerts are the alerts, incidents are the
groups, the store's silences (and the rules files', read-only) are the silences. Field
names, value sets and status codes are those of Alertmanager 0.25's OpenAPI document
(``tests/amapi/alertmanager-openapi-v0.25.0.yaml``). ``POST /api/v2/alerts``, the write
side, is ingest's (``ingest.http``).
"""

from __future__ import annotations

from aiohttp import web

from tocsin.amapi.alerts import AlertEndpoints
from tocsin.amapi.silences import add_silence_routes
from tocsin.amapi.status import add_status_routes, status_context
from tocsin.keys import REGISTRY


def add_alertmanager_api(app: web.Application) -> None:
    """Registers the API v2 read endpoints and silences, the replica announcer, the pre-render."""
    alerts = AlertEndpoints(app[REGISTRY])
    alerts.add_routes(app.router)
    app.cleanup_ctx.append(alerts.keep_warm.context)
    add_silence_routes(app.router)
    add_status_routes(app.router)
    app.cleanup_ctx.append(status_context)
