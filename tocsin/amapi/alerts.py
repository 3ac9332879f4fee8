"""``GET /api/v2/alerts`` and ``GET /api/v2/alerts/groups``: open alerts and incidents.

Both read the open incidents through ``OpenAlerts`` (only what changed since the last
request is read and rendered again, off the event loop) and stream the answer slice by
slice (``stream``), so that 100,000 open alerts never hold the event loop for long. The
parameters are checked first: a bad one is a 400 before anything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge

from rules.api_keys import Role
from rules.model import Rules
from tocsin.amapi.alert_columns import AlertColumns
from tocsin.amapi.alert_view import AlertRenderer, group_labels
from tocsin.amapi.errors import add_get
from tocsin.amapi.filters import AlertFilter, parse_filter
from tocsin.amapi.open_alerts import OpenAlerts, OpenAlertsRead
from tocsin.amapi.stream import RUN, Slicer, stream_groups, stream_members, stream_runs
from tocsin.amapi.warm import KeepWarm
from tocsin.keys import CLOCK, RULES, STORE
from tocsin.operator.auth import require


class AlertEndpoints:
    """The alert endpoints, over the rendered open alerts they keep between requests."""

    def __init__(self, registry: CollectorRegistry) -> None:
        held = Gauge(
            "tocsin_amapi_rendered_alerts",
            "Open alerts that GET /api/v2/alerts holds rendered, kept between requests.",
            registry=registry,
        )
        self._open = OpenAlerts(held)
        self.keep_warm = KeepWarm(self._open)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the alert and alert group endpoints (POST /api/v2/alerts is ingest's)."""
        add_get(router, "/api/v2/alerts", self.get_alerts)
        add_get(router, "/api/v2/alerts/groups", self.get_alert_groups)

    async def get_alerts(self, request: web.Request) -> web.StreamResponse:
        """Open alerts by fingerprint; ``active``, ``silenced``, ``filter``... as Alertmanager."""
        require(request, Role.VIEWER)
        wanted = parse_filter(request.query)
        self.keep_warm.asked(request.app[CLOCK].now())
        rules = request.app[RULES].current.rules
        async with self._open.read(request.app[STORE], rules) as read:
            alerts, renderer = read.alerts, read.renderer
            if wanted.wants_all:
                return await stream_members(request, alerts.bodies, Slicer())

            labels = await _label_sets(alerts) if wanted.matchers else None
            shows = _Verdicts(wanted, renderer)
            bodies, muted_by, receivers = alerts.bodies, alerts.muted_by, alerts.receivers
            pattern = wanted.receiver

            def run(start: int) -> list[bytes]:
                """The alerts shown of the RUN from ``start``: a list built in one loop."""
                rows = range(start, min(start + RUN, len(bodies)))
                return [
                    bodies[i]
                    for i in rows
                    if shows[muted_by[i]]
                    and (labels is None or wanted.wants_labels(labels[i]))
                    and (pattern is None or wanted.wants_receivers(receivers[i]))
                ]

            return await stream_runs(request, map(run, range(0, len(bodies), RUN)), Slicer())

    async def get_alert_groups(self, request: web.Request) -> web.StreamResponse:
        """Open incidents as groups (labels, receiver, alerts); ``unprocessed`` is not taken."""
        require(request, Role.VIEWER)
        wanted = parse_filter(request.query, unprocessed=False)
        self.keep_warm.asked(request.app[CLOCK].now())
        rules = request.app[RULES].current.rules
        async with self._open.read(request.app[STORE], rules) as read:
            return await _stream_groups(request, read, wanted, rules)


async def _stream_groups(
    request: web.Request, read: OpenAlertsRead, wanted: AlertFilter, rules: Rules
) -> web.StreamResponse:
    """Streams the read's incidents as Alertmanager's groups, their alerts filtered."""
    renderer, shared = read.renderer, read.alerts.shared
    shows = _Verdicts(wanted, renderer)
    groups: list[_Group] = []
    for held in read.incidents:
        if wanted.receiver is not None and not wanted.receiver.fullmatch(held.receiver):
            continue
        labels = group_labels(held.incident, held.alerts.labels, rules)
        groups.append((sorted(labels.items()), held.receiver, labels, held.alerts))
    # Alertmanager's order: by the group's labels, then receiver.
    groups.sort(key=lambda g: (g[0], g[1]))
    label_sets = [await _label_sets(g[3]) if wanted.matchers else None for g in groups]

    def members(group: _Shown) -> Iterator[bytes | None]:
        (_key, receiver, _labels, alerts), labels = group
        mine = (receiver,)
        for i, fingerprint in enumerate(alerts.fingerprints):
            receivers = shared.get(fingerprint, mine)
            if (
                shows[alerts.muted_by[i]]
                and (labels is None or wanted.wants_labels(labels[i]))
                and wanted.wants_receivers(receivers)
            ):
                yield renderer.with_receivers(alerts.bodies[i], mine, receivers)
            else:
                yield None

    def head(group: _Shown) -> bytes:
        (_key, receiver, labels, _alerts), _ = group
        return orjson.dumps({"labels": labels, "receiver": {"name": receiver}})[:-1]

    shown = list(zip(groups, label_sets, strict=True))
    return await stream_groups(request, shown, head, members, Slicer())


_Group = tuple[Any, str, dict[str, str], AlertColumns]
# A group and its alerts' labels if a filter reads them.
_Shown = tuple[_Group, Sequence[Mapping[str, str]] | None]


class _Labelled(Protocol):
    """Alerts whose labels are kept as JSON text and decoded once (``AlertColumns``...)."""

    @property
    def decoded(self) -> bool: ...

    def label_sets(self) -> Sequence[Mapping[str, str]]: ...


async def _label_sets(alerts: _Labelled) -> Sequence[Mapping[str, str]]:
    """The alerts' labels decoded: in a worker thread the first time (100,000: ~0.1 s)."""
    if alerts.decoded:
        return alerts.label_sets()
    return await asyncio.to_thread(alerts.label_sets)


class _Verdicts(dict[str | None, bool]):
    """Whether the filter shows an alert of each recorded mute reason, read once per reason."""

    def __init__(self, wanted: AlertFilter, renderer: AlertRenderer) -> None:
        super().__init__()
        self._wanted = wanted
        self._renderer = renderer

    def __missing__(self, muted_by: str | None) -> bool:
        shown = self[muted_by] = self._wanted.wants_status(self._renderer.status(muted_by))
        return shown
