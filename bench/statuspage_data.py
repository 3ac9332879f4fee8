"""The status page's data side: ``python -m bench statuspage-data``.

For each store (SQLite, Redis on a private ``redis-server``), fills the page's documents
as the writer keeps them (``statuspage.records``): 50 components, 10,000 public incidents
over three years (3 updates each), and two recorded stretches per component and UTC day
for 91 days. Then times:

- ``build_snapshot`` (what each site build reads): best and median of ``--runs``, and the
  Python heap's peak once under tracemalloc;
- one writer step that publishes one new internal incident (claim, read, apply, commit
  with the cursor), the data side's part of "an incident update rebuilds in 100 ms".
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import servers
from core.clock import ManualClock
from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState
from core.model import AlertStatus
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from core.store.events import ConsumerWrite, EventBatch
from core.store.factory import store_from_url
from rules import defaults
from rules.model import Rules
from rules.status import Component, ComponentGroup, StatusPage
from rules.templates import TemplateCompiler
from statuspage import records as rec
from statuspage.model import (
    ComponentStatus,
    Impact,
    PublicIncident,
    PublicIncidentStatus,
    PublicUpdate,
)
from statuspage.records import IncidentRecord, PageState
from statuspage.snapshot import build_snapshot
from statuspage.writer import StatusWriter

STORES = ("sqlite", "redis")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
COMPONENTS = 50
INCIDENTS = 10_000
RUNS = 5
_CHUNK = 500


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bench on each store and prints a table."""
    parser = argparse.ArgumentParser(prog="python -m bench statuspage-data", description=__doc__)
    parser.add_argument("--components", type=int, default=COMPONENTS)
    parser.add_argument("--incidents", type=int, default=INCIDENTS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--stores", action="append", choices=STORES, help="store (repeatable)")
    args = parser.parse_args(argv)
    print(f"{'store':<8} {'snapshot best':>14} {'median':>8} {'peak MiB':>9} {'one step ms':>12}")
    for name in args.stores or STORES:
        with (
            tempfile.TemporaryDirectory(prefix=f"tocsin-bench-statuspage-{name}-") as tmp,
            ExitStack() as stack,
        ):
            url = f"sqlite://{Path(tmp) / 'bench.db'}"
            if name == "redis":
                port = stack.enter_context(servers.redis(Path(tmp))).port
                url = f"redis://127.0.0.1:{port}/0"
            row = asyncio.run(_measure(url, args.components, args.incidents, args.runs))
            print(f"{name:<8} {row}")
    return 0


def _rules(components: int) -> Rules:
    compiler = TemplateCompiler()
    page = StatusPage(
        name="Bench",
        url="",
        time_zone=ZoneInfo("Europe/Berlin"),
        components=tuple(
            Component(f"c{n:02d}", f"Component {n}", group=f"g{n % 5}") for n in range(components)
        ),
        groups=tuple(ComponentGroup(f"g{n}", f"Group {n}") for n in range(5)),
        templates=defaults.public_templates(compiler),
    )
    return Rules(sources=(), status_page=page)


def _record(n: int, components: int) -> IncidentRecord:
    started = NOW - timedelta(days=3 * 365) + timedelta(minutes=157 * n)
    ids = (f"c{n % components:02d}", f"c{(n * 7) % components:02d}")
    updates = tuple(
        PublicUpdate(f"u{n}-{k}", status, f"Update {k} of incident {n}.", at, at)
        for k, (status, at) in enumerate(
            [
                (PublicIncidentStatus.RESOLVED, started + timedelta(hours=2)),
                (PublicIncidentStatus.IDENTIFIED, started + timedelta(minutes=20)),
                (PublicIncidentStatus.INVESTIGATING, started),
            ]
        )
    )
    incident = PublicIncident(
        f"p{n:05d}", f"Problems with {ids[0]}", PublicIncidentStatus.RESOLVED, Impact.MAJOR,
        started, started + timedelta(hours=2), started, None, started + timedelta(hours=2),
        ids, updates,
    )  # fmt: skip
    return IncidentRecord(incident, dict.fromkeys(ids, ComponentStatus.PARTIAL_OUTAGE))


async def _fill(store: Store, components: int, incidents: int) -> None:
    writes = [
        ConsumerWrite(
            rec.INCIDENTS, r.incident.id, r.encode(), rec.newest_first_due(r.incident.created_at)
        )
        for r in (_record(n, components) for n in range(incidents))
    ]
    first = (NOW - timedelta(days=91)).date()
    for c in range(components):
        for d in range(92):
            day = first + timedelta(days=d)
            start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3)
            stretches = [
                (start, start + timedelta(minutes=20), ComponentStatus.PARTIAL_OUTAGE),
                (
                    start + timedelta(hours=5),
                    start + timedelta(hours=6),
                    ComponentStatus.DEGRADED_PERFORMANCE,
                ),
            ]
            key = rec.interval_key(f"c{c:02d}", day)
            writes.append(ConsumerWrite(rec.INTERVALS, key, rec.encode_stretches(stretches)))
    seen = NOW - timedelta(days=400)
    state = PageState(
        {f"c{c:02d}": (ComponentStatus.OPERATIONAL, seen, seen) for c in range(components)}
    )
    writes.append(ConsumerWrite(rec.STATE, rec.STATE_KEY, state.encode()))
    for first_write in range(0, len(writes), _CHUNK):
        chunk = writes[first_write : first_write + _CHUNK]
        await store.commit_events(EventBatch("bench-fill", "bench", None), chunk)


async def _measure(url: str, components: int, incidents: int, runs: int) -> str:
    store = store_from_url(url)
    await store.open()
    try:
        rules = _rules(components)
        await _fill(store, components, incidents)
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            snapshot = await build_snapshot(store, rules, NOW)
            times.append(time.perf_counter() - began)
        assert len(snapshot.incidents) == incidents
        tracemalloc.start()
        await build_snapshot(store, rules, NOW)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        step = await _one_step(store, rules)
    finally:
        await store.close()
    return (
        f"{min(times) * 1000:>11.0f} ms {statistics.median(times) * 1000:>5.0f} ms"
        f" {peak:>9.1f} {step * 1000:>12.1f}"
    )


async def _one_step(store: Store, rules: Rules) -> float:
    """Times the writer's step that publishes one new internal incident."""
    clock = ManualClock(NOW)
    writer = StatusWriter(store, lambda: rules, clock, "bench")
    while await writer.step():
        pass  # the page's first steps
    alert = IncidentAlert("f1", {"alertname": "X"}, AlertStatus.FIRING, NOW, NOW, 1, "1")
    incident = Incident(
        "inc-bench", "g", "X", IncidentState.TRIGGERED, NOW, {"f1": alert}, version=1,
        priority="P1", components=("c01",), public=True,
    )  # fmt: skip
    await store.commit(
        CorrelationCommit(
            "bench",
            incidents=(incident,),
            heads=(GroupHead("g", None, incident.id),),
            events=(IncidentEvent(incident.id, NOW, "correlate", "opened", {}),),
            alerts=every_alert(incident),
        )
    )
    began = time.perf_counter()
    changes = await writer.step()
    elapsed = time.perf_counter() - began
    assert changes is not None
    assert changes.incidents
    return elapsed
