"""An incident's SLA clocks over the operator API (viewer key).

``GET /api/v1/incidents/{id}/sla``: each clock's target, time so far, status and, while
it runs, when it breaches and its next threshold (``escalation.sla_view``), from the
SLA stage's document: any replica answers. 404 for an unknown incident.
"""

from __future__ import annotations

from aiohttp import web

from core.errors import NotFound
from escalation.sla_state import COLLECTION, SlaState
from escalation.sla_view import sla_view
from rules.api_keys import Role
from tocsin.keys import CLOCK, STORE
from tocsin.operator.auth import require


def add_sla_routes(router: web.UrlDispatcher) -> None:
    """Registers the SLA endpoint."""
    router.add_get("/api/v1/incidents/{id}/sla", get_sla)


async def get_sla(request: web.Request) -> web.Response:
    """The incident's SLA clocks now."""
    require(request, Role.VIEWER)
    store = request.app[STORE]
    incident_id = request.match_info["id"]
    if await store.incident_summary(incident_id) is None:
        raise NotFound(f"no incident {incident_id!r}", field="id")
    stored = await store.consumer_documents(COLLECTION, [incident_id])
    raw = stored.get(incident_id)
    state = None if raw is None else SlaState.from_document(raw)
    return web.json_response(sla_view(incident_id, state, request.app[CLOCK].now()))
