"""The open incidents' firing alerts, rendered, kept from one request to the next.

Karma and Grafana ask for every open alert every few seconds. Each asks the store for
the open incidents, telling it which versions it holds (``open_incident_documents``);
only the incidents that changed since come with their alerts, and only their alerts
are rendered again (``AlertRenderer``). An incident that is no longer open is forgotten;
a reload of the rules renders everything again. So a poll of 100,000 unchanged open
alerts costs a read of the incidents' own rows and the sending of what is rendered.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from core.incident import Incident
from core.store import IncidentStore
from rules.model import Rules
from tocsin.amapi.alert_view import AlertRenderer, RenderedAlert, receiver_of, stamp
from tocsin.amapi.stream import CHECK_EVERY, Slicer

_BY_FINGERPRINT = attrgetter("fingerprint")


@dataclass(frozen=True, slots=True)
class HeldIncident:
    """One version of an open incident, its receiver, its firing alerts by fingerprint."""

    incident: Incident
    receiver: str
    alerts: list[RenderedAlert]


# An alert to send, and the receivers of all its incidents.
Shown = tuple[RenderedAlert, tuple[str, ...]]


class OpenAlerts:
    """What the Alertmanager API last read of each open incident, rendered once."""

    def __init__(self) -> None:
        self._renderer: AlertRenderer | None = None
        self._held: dict[str, HeldIncident] = {}
        # One read at a time: Karma and Grafana polling together after a storm would
        # otherwise both render the same 100,000 alerts; the second finds them rendered.
        self._reading = asyncio.Lock()

    async def read(
        self, store: IncidentStore, rules: Rules, slicer: Slicer
    ) -> tuple[AlertRenderer, list[HeldIncident]]:
        """Every open incident, newest first, with its firing alerts rendered."""
        async with self._reading:
            return await self._read(store, rules, slicer)

    async def _read(
        self, store: IncidentStore, rules: Rules, slicer: Slicer
    ) -> tuple[AlertRenderer, list[HeldIncident]]:
        if self._renderer is None or self._renderer.rules is not rules:
            self._renderer, self._held = AlertRenderer(rules), {}
        renderer, held = self._renderer, self._held
        reads = await store.open_incident_documents(
            {i: h.incident.version for i, h in held.items()}
        )
        incidents: list[HeldIncident] = []
        for read in reads:
            kept = held.get(read.incident.id)
            if read.alerts is None and kept is not None:
                incidents.append(kept)
                continue
            prior = kept.alerts if kept is not None else []
            alerts = await _render(renderer, read.alerts or {}, prior, slicer)
            incidents.append(HeldIncident(read.incident, receiver_of(read.incident, rules), alerts))
        if self._renderer is renderer:
            self._held = {h.incident.id: h for h in incidents}
        return renderer, incidents


def every_alert(incidents: Iterable[HeldIncident]) -> Iterator[Shown]:
    """Each firing alert once, by fingerprint, with the receivers of all its incidents.

    Of an alert in several incidents, the copy the correlator saw last is shown.
    """
    streams = [_with_receiver(h) for h in incidents]
    merged = heapq.merge(*streams, key=lambda pair: pair[0].fingerprint)
    current: RenderedAlert | None = None
    receivers: tuple[str, ...] = ()
    for alert, receiver in merged:
        if current is not None and alert.fingerprint == current.fingerprint:
            if alert.last_seen > current.last_seen:
                current = alert
            if receiver not in receivers:
                receivers = (*receivers, receiver)
            continue
        if current is not None:
            yield current, receivers
        current, receivers = alert, (receiver,)
    if current is not None:
        yield current, receivers


def _with_receiver(held: HeldIncident) -> Iterator[tuple[RenderedAlert, str]]:
    receiver = held.receiver
    for alert in held.alerts:
        yield alert, receiver


async def shared_receivers(
    incidents: list[HeldIncident], slicer: Slicer
) -> Mapping[str, tuple[str, ...]]:
    """The receivers of the alerts that are part of more than one incident, by fingerprint."""
    if len(incidents) < 2:
        return {}
    shared: dict[str, tuple[str, ...]] = {}
    for count, (alert, receivers) in enumerate(every_alert(incidents), start=1):
        if len(receivers) > 1:
            shared[alert.fingerprint] = receivers
        if count % CHECK_EVERY == 0 and slicer.over():
            await slicer.pause()
    return shared


async def _render(
    renderer: AlertRenderer,
    documents: Mapping[str, dict[str, Any]],
    prior: list[RenderedAlert],
    slicer: Slicer,
) -> list[RenderedAlert]:
    """The firing alerts among the documents, rendered, by fingerprint.

    ``prior`` are the incident's alerts as rendered from its previous version: those whose
    document did not change since are kept, not rendered again (a storm incident that
    grows by a few hundred alerts a step holds 100,000 that did not change).
    """
    known: dict[str, RenderedAlert] = {}
    for count, alert in enumerate(prior, start=1):
        known[alert.fingerprint] = alert
        if count % _CHECK_MANY == 0 and slicer.over():
            await slicer.pause()
    unchanged: set[str] = set()
    rendered: list[RenderedAlert] = []
    for count, (fingerprint, document) in enumerate(documents.items(), start=1):
        if document["status"] == "firing":
            old = known.get(fingerprint)
            if old is not None and old.stamp == stamp(document):
                unchanged.add(fingerprint)
            else:
                rendered.append(renderer.render(fingerprint, document))
        if count % CHECK_EVERY == 0 and slicer.over():
            await slicer.pause()
    rendered.sort(key=_BY_FINGERPRINT)
    if not unchanged:
        return rendered
    # Two sorted runs, which the sort merges in one pass.
    alerts = [a for a in prior if a.fingerprint in unchanged]
    alerts.extend(rendered)
    alerts.sort(key=_BY_FINGERPRINT)
    return alerts


# Cheap steps (a dict insert) between looks at the clock.
_CHECK_MANY = 1024
