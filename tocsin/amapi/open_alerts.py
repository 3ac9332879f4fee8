"""The open incidents' firing alerts, rendered, kept from one request to the next.

Karma and Grafana ask for every open alert every few seconds. Each asks the store for
the open incidents, telling it which versions it holds (``open_incident_alert_bodies``);
only the incidents that changed since come with their alerts, still encoded, and only
those are decoded (``stored_alerts``) and rendered again (``alert_columns``), one stored
body at a time, in a worker thread: the event loop goes on serving meanwhile, and what
stays is columns of strings and bytes that the cyclic collector does not walk. Every
alert once, by fingerprint (``alert_list``), is kept as well until an incident changes.
An incident that is no longer open is forgotten; a reload of the rules renders
everything again. So a poll of 100,000 unchanged open alerts costs a read of the
incidents' own rows and the sending of what is rendered.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from core.store import IncidentAlertBodies, IncidentStore
from rules.model import Rules
from tocsin.amapi.alert_columns import HeldIncident, render_columns
from tocsin.amapi.alert_list import AlertList, merge_alerts
from tocsin.amapi.alert_view import AlertRenderer, receiver_of
from tocsin.amapi.stored_alerts import stored_batches
from tocsin.amapi.stream import Slicer

# Items freed between looks at the clock (each may be an alert's labels and their values).
_RELEASE_STEP = 1024


@dataclass(frozen=True, slots=True, eq=False)
class OpenAlertsRead:
    """What one read gives: the renderer, the open incidents newest first, every alert once."""

    renderer: AlertRenderer
    incidents: Sequence[HeldIncident]
    alerts: AlertList

    def lists(self) -> dict[int, list[Any]]:
        """The lists that hold its alerts, by identity."""
        found = {id(c): c for h in self.incidents for c in h.alerts.lists()}
        found.update((id(c), c) for c in self.alerts.lists())
        return found


class OpenAlerts:
    """What the Alertmanager API last read of each open incident, rendered once.

    A read that a newer one replaced is taken apart once no request uses it any more,
    slice by slice on the event loop: the 100,000 alerts of a read that a reload of the
    rules (or a storm step that changed every alert) replaced, freed at once, held the
    loop some 80 ms.
    """

    def __init__(self, held: Gauge | None = None) -> None:
        self._last: OpenAlertsRead | None = None
        # tocsin_amapi_rendered_alerts: what the last read holds (memory to account for).
        self._held = held
        # One read at a time: Karma and Grafana polling together after a storm would
        # otherwise both render the same 100,000 alerts; the second finds them rendered.
        self._reading = asyncio.Lock()
        self._users: Counter[OpenAlertsRead] = Counter()
        self._replaced: list[OpenAlertsRead] = []
        # Renders run one at a time (the lock) on one thread of their own, so that their
        # memory comes from one malloc arena, not a different one each time.
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-amapi")
        self.renders = 0  # reads that rendered something (a read of nothing new does not)

    @asynccontextmanager
    async def read(self, store: IncidentStore, rules: Rules) -> AsyncIterator[OpenAlertsRead]:
        """Every open incident, newest first, with its firing alerts rendered.

        The read is in use until the ``async with`` block ends.
        """
        async with self._reading:
            read = await self._read(store, rules)
        self._users[read] += 1
        try:
            yield read
        finally:
            self._users[read] -= 1
            if not self._users[read]:
                del self._users[read]
            del read
            await self._release()

    @property
    def holding(self) -> bool:
        """Tells whether it holds rendered alerts (a read was made and not forgotten)."""
        return self._last is not None

    async def forget(self) -> None:
        """Lets go of the rendered alerts (once no request uses them); the next read renders all."""
        async with self._reading:
            if self._last is not None:
                self._replaced.append(self._last)
                self._last = None
            if self._held is not None:
                self._held.set(0)
        await self._release()

    async def _release(self) -> None:
        """Empties, slice by slice, the lists of the replaced reads that nobody uses."""
        idle = [r for r in self._replaced if r not in self._users]
        if not idle:
            return
        self._replaced = [r for r in self._replaced if r in self._users]
        # What the current read and those still in use hold is shared with them.
        kept: dict[int, list[Any]] = {}
        for read in [*self._users, *([self._last] if self._last else [])]:
            kept.update(read.lists())
        slicer = Slicer()
        for read in idle:
            for key, column in read.lists().items():
                while key not in kept and column:
                    del column[-_RELEASE_STEP:]
                    if slicer.over():
                        await slicer.pause()

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
        self.renders += 1
        read = await asyncio.get_running_loop().run_in_executor(
            self._renderer, _render, renderer, rules, reads, held
        )
        if last is not None:
            self._replaced.append(last)
        self._last = read
        if self._held is not None:
            self._held.set(len(read.alerts))
        return read


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
        batches = stored_batches(read.bodies or ())
        alerts = render_columns(renderer, (receiver,), batches, prior)
        incidents.append(HeldIncident(read.incident, receiver, alerts))
    return OpenAlertsRead(renderer, incidents, merge_alerts(renderer, incidents))
