"""``GET /api/v2/alerts`` and ``GET /api/v2/alerts/groups``: open alerts and incidents.

Both read every open incident with its alerts from the store (SQLite decodes them in a
worker thread), gather the firing alerts slice by slice, and stream the answer
(``stream``), so that 100,000 open alerts never hold the event loop for long. The
parameters are checked first: a bad one is a 400 before anything is sent.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.incident import OPEN_STATES, Incident
from core.model import AlertStatus
from core.store import IncidentQuery
from rules.api_keys import Role
from rules.model import Rules
from tocsin.amapi.alert_view import (
    OpenAlert,
    add_open_alert,
    alert_view,
    group_labels,
    receiver_of,
)
from tocsin.amapi.errors import am_errors
from tocsin.amapi.filters import AlertFilter, parse_filter
from tocsin.amapi.stream import Slicer, sliced, stream_array
from tocsin.keys import RULES, STORE
from tocsin.operator.auth import require

# Open incidents number thousands at most (a storm is one incident, not one per host).
MAX_OPEN_INCIDENTS = 1_000_000


def add_alert_routes(router: web.UrlDispatcher) -> None:
    """Registers the alert and alert group endpoints (POST /api/v2/alerts is ingest's)."""
    router.add_get("/api/v2/alerts", am_errors(get_alerts))
    router.add_get("/api/v2/alerts/groups", am_errors(get_alert_groups))


async def get_alerts(request: web.Request) -> web.StreamResponse:
    """Open alerts by fingerprint: ``?active&silenced&inhibited&unprocessed&filter&receiver``."""
    require(request, Role.VIEWER)
    wanted = parse_filter(request.query)
    rules = request.app[RULES].current.rules
    slicer = Slicer()
    incidents = await _open_incidents(request)
    alerts = await _gather(incidents, rules, slicer)
    fingerprints = sorted(alerts)  # Alertmanager's order; ~20 ms for 100,000
    await slicer.pause()
    timeout = rules.correlation.resolve_timeout

    def render(fingerprint: str) -> dict[str, Any] | None:
        found = alerts[fingerprint]
        if not _wanted(wanted, found):
            return None
        return alert_view(found, timeout)

    return await stream_array(request, fingerprints, render, slicer)


async def get_alert_groups(request: web.Request) -> web.StreamResponse:
    """Open incidents as groups (labels, receiver, alerts); ``unprocessed`` is not taken."""
    require(request, Role.VIEWER)
    wanted = parse_filter(request.query, unprocessed=False)
    rules = request.app[RULES].current.rules
    slicer = Slicer()
    incidents = await _open_incidents(request)
    alerts = await _gather(incidents, rules, slicer)
    timeout = rules.correlation.resolve_timeout
    groups = []
    for incident in incidents:
        receiver = receiver_of(incident, rules)
        if wanted.receiver is not None and not wanted.receiver.fullmatch(receiver):
            continue
        firing = sorted(f for f, a in incident.alerts.items() if a.status is AlertStatus.FIRING)
        groups.append((incident, receiver, await sliced((alerts[f] for f in firing), slicer)))
    # Alertmanager's order: by the group's labels, then receiver.
    keyed = []
    for incident, receiver, members in groups:
        labels = group_labels(incident, (m.alert for m in members), rules)
        keyed.append((sorted(labels.items()), receiver, labels, members))
    keyed.sort(key=lambda k: (k[0], k[1]))

    def render(group: tuple[Any, str, dict[str, str], list[OpenAlert]]) -> dict[str, Any] | None:
        _key, receiver, labels, members = group
        shown = [alert_view(m, timeout) for m in members if _wanted(wanted, m)]
        if not shown:
            return None  # Alertmanager leaves out a group none of whose alerts is shown
        return {"labels": labels, "receiver": {"name": receiver}, "alerts": shown}

    return await stream_array(request, keyed, render, slicer)


def _wanted(wanted: AlertFilter, found: OpenAlert) -> bool:
    return (
        wanted.wants_status(found.status)
        and wanted.wants_labels(found.alert.labels)
        and wanted.wants_receivers(found.receivers)
    )


async def _open_incidents(request: web.Request) -> list[Incident]:
    query = IncidentQuery(states=OPEN_STATES, limit=MAX_OPEN_INCIDENTS)
    return await request.app[STORE].list_incidents(query)


async def _gather(incidents: list[Incident], rules: Rules, slicer: Slicer) -> dict[str, OpenAlert]:
    """Every firing alert of the incidents, once, with all its incidents' receivers."""
    alerts: dict[str, OpenAlert] = {}
    count = 0
    for incident in incidents:
        receiver = receiver_of(incident, rules)
        for alert in incident.alerts.values():
            if alert.status is AlertStatus.FIRING:
                add_open_alert(alerts, alert, receiver, rules)
            count += 1
            if count % 64 == 0 and slicer.over():
                await slicer.pause()
    return alerts
