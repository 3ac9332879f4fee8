"""Prometheus metrics of incidents: time to acknowledge and to resolve, and open incidents.

- ``tocsin_incident_time_to_acknowledge_seconds{service,priority}`` and
  ``tocsin_incident_time_to_resolve_seconds{service,priority}``: histograms of the time
  from an incident's opening to its first acknowledgement and to its first resolution,
  fed from the incident event stream by the consumer group ``metrics`` (a merge is the
  resolution of the incident merged, as ``tocsin report`` counts it). Each incident's
  opening time and what was observed of it are documents of the group (collection
  ``metrics``), written with its cursor in one commit (``commit_events``), and the
  histograms are observed only once that commit landed: every acknowledgement and
  resolution is observed once, by whichever process holds the group's lease (on Redis,
  one replica at a time: sum the histograms over replicas). An incident's document is
  deleted when it closes.
- ``tocsin_incidents_open{state,priority}``: the incidents open now, counted from the
  store every ``OPEN_INTERVAL`` (pages of summaries, no alert read). Every replica
  counts the same store: aggregate it with ``max``, not ``sum``.

Labels: ``service`` and ``priority`` as the stream event carries them after the write
(``none`` when unset). Time comes from the injected clock (the lease) and the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram

from core.clock import Clock
from core.errors import StoreError
from core.incident import OPEN_STATES
from core.store import Store
from core.store.events import ConsumerWrite, StreamEvent
from core.timestamps import format_rfc3339
from rules.priority import priority_name
from tocsin.keys import CLOCK, RULES, STORE

log = structlog.get_logger("tocsin.incident_metrics")

GROUP = "metrics"
COLLECTION = "metrics"
BATCH = 500
LEASE = timedelta(seconds=30)
# How often the stream is read when it had nothing new, and the open incidents counted.
POLL_SECONDS = 1.0
OPEN_INTERVAL_SECONDS = 30.0
NONE = "none"

ACKNOWLEDGE_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
RESOLVE_BUCKETS = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200, 604800)
# The timeline kinds that first acknowledge or resolve an incident, and what they set: a
# merge resolves its source (code ``duplicate``), as ``tocsin report`` counts it.
_FLAGS = {"acknowledged": "acknowledged", "resolved": "resolved", "merged_into": "resolved"}


class IncidentMetrics:
    """The incident metrics, registered in the application's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.time_to_acknowledge = Histogram(
            "tocsin_incident_time_to_acknowledge_seconds",
            "Time from an incident's opening to its first acknowledgement.",
            ["service", "priority"],
            buckets=ACKNOWLEDGE_BUCKETS,
            registry=registry,
        )
        self.time_to_resolve = Histogram(
            "tocsin_incident_time_to_resolve_seconds",
            "Time from an incident's opening to its first resolution (by a person or automatic).",
            ["service", "priority"],
            buckets=RESOLVE_BUCKETS,
            registry=registry,
        )
        self.open = Gauge(
            "tocsin_incidents_open",
            "Incidents open now (triggered, acknowledged, on hold), by state and priority.",
            ["state", "priority"],
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class _Observation:
    histogram: Histogram
    service: str
    priority: str
    seconds: float


class IncidentMetricsFeed:
    """Feeds the histograms from the event stream and the gauge from store counts."""

    def __init__(self, store: Store, metrics: IncidentMetrics, clock: Clock, member: str) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._member = member

    async def step(self) -> int:
        """Handles one batch of the stream; returns how many events it held (0: none new).

        Raises StreamConflict (writing and observing nothing) if another member
        committed the batch first.
        """
        batch = await self._store.claim_events(
            GROUP, self._member, BATCH, now=self._clock.now(), lease=LEASE
        )
        if not batch.events:
            return 0
        ids = list(dict.fromkeys(event.incident_id for event in batch.events))
        documents: dict[str, dict[str, Any] | None] = dict(
            await self._store.consumer_documents(COLLECTION, ids)
        )
        observations: list[_Observation] = []
        for event in batch.events:
            await self._follow(event, documents, observations)
        writes = [ConsumerWrite(COLLECTION, key, doc) for key, doc in documents.items()]
        await self._store.commit_events(batch, writes)
        # Only after the commit: a batch that another member committed is not counted.
        for seen in observations:
            seen.histogram.labels(seen.service, seen.priority).observe(seen.seconds)
        return len(batch.events)

    async def _follow(
        self,
        event: StreamEvent,
        documents: dict[str, dict[str, Any] | None],
        observations: list[_Observation],
    ) -> None:
        """Updates the incident's document for one event, noting what to observe."""
        key = event.incident_id
        if event.kind == "closed":
            documents[key] = None
            return
        if event.kind != "opened" and event.kind not in _FLAGS:
            return
        document = documents.get(key)
        if document is None:
            document = {"opened_at": format_rfc3339(await self._opened_at(event))}
        document = dict(document)
        flag = _FLAGS.get(event.kind)
        if flag is not None and not document.get(flag):
            document[flag] = True
            histogram = (
                self._metrics.time_to_acknowledge
                if flag == "acknowledged"
                else self._metrics.time_to_resolve
            )
            elapsed = event.at - datetime.fromisoformat(document["opened_at"])
            observations.append(
                _Observation(
                    histogram,
                    event.service or NONE,
                    event.priority or NONE,
                    max(0.0, elapsed.total_seconds()),
                )
            )
        documents[key] = document

    async def _opened_at(self, event: StreamEvent) -> datetime:
        """When the event's incident opened: the event itself, or the stored incident."""
        if event.kind == "opened":
            return event.at
        # Its "opened" was trimmed from the stream before this group read it.
        summary = await self._store.incident_summary(event.incident_id)
        return event.at if summary is None else summary.incident.opened_at

    async def count_open(self, priorities: Sequence[str]) -> None:
        """Sets the gauge to the open incidents by state and priority, counted in the store.

        Through the store's indexes (``count_open_incidents``): no incident is read, so
        the count costs the same with 100 or 100,000 incidents stored. ``priorities``
        are the rules' (P1..Pn); a priority outside them shows as ``none``.
        """
        counts = await self._store.count_open_incidents(priorities)
        # Counted first, then set without awaiting: a scrape sees the old or the new.
        gauge = self._metrics.open
        gauge.clear()
        for state in sorted(s.value for s in OPEN_STATES):
            gauge.labels(state, NONE)  # every open state shows, if only as 0
        for (state, priority), count in counts.items():
            gauge.labels(state.value, priority or NONE).set(count)


async def _every(
    stop: asyncio.Event,
    seconds: float,
    work: Callable[[], Coroutine[Any, Any, Any]],
    name: str,
) -> None:
    """Runs ``work`` until ``stop``, pausing ``seconds`` after it did nothing or failed.

    Stopped between two calls, never cancelled in one: a store call cut off mid-reply
    could leave its connection unusable for the store's own shutdown.
    """
    while not stop.is_set():
        try:
            busy = await work()
        except StoreError as exc:
            log.warning("incident metrics: store error", task=name, error=str(exc))
            busy = 0
        except Exception:  # a bug must not end the metrics for the process's life
            log.exception("incident metrics failed", task=name)
            busy = 0
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)


def incident_metrics_context(
    metrics: IncidentMetrics,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that feeds ``metrics`` while the application runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        member = f"{socket.gethostname()}-{os.getpid()}"
        feed = IncidentMetricsFeed(app[STORE], metrics, app[CLOCK], member)

        async def count_open() -> int:
            matrix = app[RULES].current.rules.priority.matrix
            await feed.count_open([priority_name(n) for n in range(1, matrix.levels + 1)])
            return 0

        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(
                _every(stop, POLL_SECONDS, feed.step, "stream"), name="tocsin-incident-metrics"
            ),
            asyncio.create_task(
                _every(stop, OPEN_INTERVAL_SECONDS, count_open, "open"),
                name="tocsin-incidents-open",
            ),
        ]
        yield
        stop.set()
        await asyncio.gather(*tasks)
        # Another member may take the lease at once rather than when it expires.
        with contextlib.suppress(StoreError):
            await app[STORE].release_events(GROUP, member)

    return context
