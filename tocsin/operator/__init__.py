"""The operator REST API: incidents and silences, for people with an API key."""

from __future__ import annotations

from aiohttp import web

from tocsin.operator.incident_actions import add_action_routes
from tocsin.operator.incidents import add_incident_routes
from tocsin.operator.problems import add_problem_routes
from tocsin.operator.silences import add_silence_routes


def add_operator_api(app: web.Application) -> None:
    """Registers every operator endpoint under /api/v1."""
    add_incident_routes(app.router)
    add_action_routes(app.router)
    add_silence_routes(app.router)
    add_problem_routes(app.router)
