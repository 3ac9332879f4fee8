"""The operator REST API: incidents and silences, for people with an API key."""

from __future__ import annotations

from aiohttp import web

from tocsin.operator.incidents import add_incident_routes
from tocsin.operator.silences import add_silence_routes


def add_operator_api(app: web.Application) -> None:
    """Registers every operator endpoint under /api/v1."""
    add_incident_routes(app.router)
    add_silence_routes(app.router)
