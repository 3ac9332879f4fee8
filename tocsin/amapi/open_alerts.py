"""The open incidents' firing alerts, rendered, kept from one request to the next.

Karma and Grafana ask for every open alert every few seconds. Each asks the store for
the open incidents, telling it which versions it holds (``open_incident_alert_bodies``);
only the incidents that changed since come with their alerts, still encoded, and only
those are decoded and rendered again (``alert_columns``), one stored body at a time, in
a worker thread: the event loop goes on serving meanwhile, and what stays is columns of
strings and bytes that the cyclic collector does not walk. Every alert once, by
fingerprint (``alert_list``), is kept as well until an incident changes. An incident
that is no longer open is forgotten; a reload of the rules renders everything again. So
a poll of 100,000 unchanged open alerts costs a read of the incidents' own rows and the
sending of what is rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.codec import alert_documents
from core.store import IncidentAlertBodies, IncidentStore
from rules.model import Rules
from tocsin.amapi.alert_columns import HeldIncident, render_columns
from tocsin.amapi.alert_list import AlertList, merge_alerts
from tocsin.amapi.alert_view import AlertRenderer, receiver_of


@dataclass(frozen=True, slots=True)
class OpenAlertsRead:
    """What one read gives: the renderer, the open incidents newest first, every alert once."""

    renderer: AlertRenderer
    incidents: Sequence[HeldIncident]
    alerts: AlertList


class OpenAlerts:
    """What the Alertmanager API last read of each open incident, rendered once."""

    def __init__(self) -> None:
        self._last: OpenAlertsRead | None = None
        # One read at a time: Karma and Grafana polling together after a storm would
        # otherwise both render the same 100,000 alerts; the second finds them rendered.
        self._reading = asyncio.Lock()

    async def read(self, store: IncidentStore, rules: Rules) -> OpenAlertsRead:
        """Every open incident, newest first, with its firing alerts rendered."""
        async with self._reading:
            return await self._read(store, rules)

    async def _read(self, store: IncidentStore, rules: Rules) -> OpenAlertsRead:
        last = self._last
        held: dict[str, HeldIncident] = {}
        if last is None or last.renderer.rules is not rules:
            renderer = AlertRenderer(rules)
        else:
            renderer = last.renderer
            held = {h.incident.id: h for h in last.incidents}
        reads = await store.open_incident_alert_bodies(
            {i: h.incident.version for i, h in held.items()}
        )
        if last is not None and last.renderer is renderer and _unchanged(reads, last):
            return last
        self._last = await asyncio.to_thread(_render, renderer, rules, reads, held)
        return self._last


def _unchanged(reads: Sequence[IncidentAlertBodies], last: OpenAlertsRead) -> bool:
    """Tells whether the store gave the incidents of ``last``, none of them changed."""
    return len(reads) == len(last.incidents) and all(
        read.bodies is None and read.incident.id == held.incident.id
        for read, held in zip(reads, last.incidents, strict=True)
    )


def _render(
    renderer: AlertRenderer,
    rules: Rules,
    reads: Sequence[IncidentAlertBodies],
    held: Mapping[str, HeldIncident],
) -> OpenAlertsRead:
    """Renders the incidents that changed (run in a worker thread), keeps the others."""
    incidents: list[HeldIncident] = []
    for read in reads:
        kept = held.get(read.incident.id)
        if read.bodies is None and kept is not None:
            incidents.append(kept)
            continue
        receiver = receiver_of(read.incident, rules)
        # The alerts of its previous version that did not change are kept, unless the
        # incident's receiver, which they show, did.
        prior = kept.alerts if kept is not None and kept.receiver == receiver else None
        documents = alert_documents(read.bodies or ())
        alerts = render_columns(renderer, (receiver,), documents, prior)
        incidents.append(HeldIncident(read.incident, receiver, alerts))
    return OpenAlertsRead(renderer, incidents, merge_alerts(renderer, incidents))
