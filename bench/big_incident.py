"""One storm incident of many alerts: what a page of it and the correlator's start cost.

``python -m bench.big_incident --alerts 150000 --stores sqlite redis`` builds one open
incident of that many alerts in a fresh store, in commits of 15,000 alerts (as a storm's
steps write them), then times, each on its own: the reads behind
``GET /api/v1/incidents?limit=50`` and ``GET /api/v1/incidents/{id}?alerts_limit=1``, and
a fresh correlator's first step and first (full) sweep, with the peak of the Python
heap each takes (tracemalloc, in a second run). Issue 9 item 3 (a page's cost was the
incident's) and item 2 (a child's start took longer than the heartbeat timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.correlator_harness import fresh_store, new_correlator, opened, write_rules
from core.clock import ManualClock
from core.incident import Incident, IncidentAlert, IncidentState
from core.model import AlertStatus
from core.store import CorrelationCommit, IncidentAlertWrite, IncidentQuery, Store

START = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
_COMMIT_ALERTS = 15_000


def _alert(n: int) -> IncidentAlert:
    at = START + timedelta(milliseconds=n)
    return IncidentAlert(
        fingerprint=f"{n * 2654435761 % 2**64:016x}",
        labels={"alertname": "Storm", "service": "web", "instance": f"host-{n}"},
        status=AlertStatus.FIRING if n % 3 else AlertStatus.RESOLVED,
        first_seen=at,
        last_seen=at,
        count=1,
        position=str(n + 1),
        ends_at=START + timedelta(hours=6),
        annotations={"summary": f"host-{n} is down"},
        starts_at=at,
        first_received_at=at,
        last_received_at=at,
    )


async def build(store: Store, alerts: int) -> str:
    """Commits one open incident of ``alerts`` alerts; returns its id."""
    incident = Incident(
        id="storm",
        group_key='{alertname="Storm",service="web"}',
        title="Storm",
        state=IncidentState.TRIGGERED,
        opened_at=START,
        alerts={},
        service="web",
        route="ops",
        policy="ops",
        sweep_at=START + timedelta(hours=6),
    )
    held: dict[str, IncidentAlert] = {}
    for start in range(0, alerts, _COMMIT_ALERTS):
        new = [_alert(n) for n in range(start, min(alerts, start + _COMMIT_ALERTS))]
        held.update((a.fingerprint, a) for a in new)
        incident = replace(incident, alerts=dict(held), version=incident.version + 1)
        writes = tuple(IncidentAlertWrite(incident.id, a) for a in new)
        await store.commit(CorrelationCommit("bench", incidents=(incident,), alerts=writes))
    return incident.id


async def timed(name: str, work: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """Runs ``work`` twice: timed, then under tracemalloc for the Python heap it peaks at."""
    started = time.perf_counter()
    await work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        await work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"  {name:<44} {seconds:8.3f} s   heap peak {peak / 2**20:8.1f} MB", flush=True)
    return {"seconds": seconds, "heap_peak_mb": peak / 2**20}


async def run(store_name: str, alerts: int) -> None:
    """Builds the incident in a fresh store of ``store_name`` and times the reads."""
    with fresh_store(store_name) as (store, workdir):
        rules = write_rules(workdir)
        async with opened(store):
            incident_id = await build(store, alerts)
            print(f"{store_name}: one incident of {alerts:,} alerts", flush=True)
            for name, work in readers(store, incident_id).items():
                await timed(name, work)
            clock = ManualClock(START + timedelta(minutes=5))
            correlator = new_correlator(store, rules, clock, "bench")
            await timed("correlator: first step (idle)", correlator.step)
            await timed("correlator: first sweep (full)", correlator.sweep)


def readers(store: Store, incident_id: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The reads the operator API makes for a list page and a detail page.

    Today's first, then the whole reads the API made before.
    """
    found: dict[str, Callable[[], Awaitable[Any]]] = {}
    summaries = getattr(store, "incident_summaries", None)
    if summaries is not None:
        found["incident_summaries(limit=50)"] = lambda: summaries(IncidentQuery(limit=50))
    page = getattr(store, "incident_alert_page", None)
    if page is not None:
        found["incident_alert_page(limit=1)"] = lambda: page(incident_id, "", 1)
        found["incident_alert_page(limit=1000, mid)"] = lambda: page(incident_id, "8", 1000)
    events_page = getattr(store, "incident_events_page", None)
    if events_page is not None:
        found["incident_events_page(0, 100)"] = lambda: events_page(incident_id, 0, 100)
    found["before: list_incidents(limit=50)"] = lambda: store.list_incidents(
        IncidentQuery(limit=50)
    )
    found["before: get_incident (whole)"] = lambda: store.get_incident(incident_id)
    return found


def main() -> None:
    """Parses the arguments and runs each store in turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=150_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "redis"])
    args = parser.parse_args()
    for store_name in args.stores:
        asyncio.run(run(store_name, args.alerts))


if __name__ == "__main__":
    main()
