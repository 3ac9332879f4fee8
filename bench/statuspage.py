"""What the status site costs: ``python -m bench statuspage``.

Builds a snapshot of 50 components (5 groups), 90 days of history each and 10,000
historical incidents over three years (3 updates each, a few open), then times:

- a cold build: ``render_site``, then ``write_site`` into an empty directory (every
  page), timed apart, beside a plain ``write_bytes`` of the same files (the file
  system's own cost);
- one incident update: the same snapshot with one more update on an open incident,
  rendered against the previous build and written (only changed files), as ``tocsin
  serve`` does when the writer reports a change;
- the front page's size (CSS inlined);
- with ``--stores`` (default both), one update end to end on a filled store
  (``bench.statuspage_update``): the writer's step, then the site's regeneration.

``--dir /dev/shm`` writes into memory: the writer's own cost, apart from the disk's,
which on a shared machine swings with everyone else's writes.

Each is run a few times (best and median reported); the cold build runs once more under
tracemalloc for the Python heap's peak. The snapshot is built in memory: reading it from
the store is the data side's cost (``statuspage.snapshot.build_snapshot``), not measured here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import statuspage_update
from statuspage.model import (
    ComponentHistory,
    ComponentStatus,
    DayAvailability,
    Impact,
    Indicator,
    PageInfo,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicIncidentStatus,
    PublicUpdate,
    StatusSnapshot,
)
from statuspage.site import render_site, write_site

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
STATUSES = (
    PublicIncidentStatus.INVESTIGATING,
    PublicIncidentStatus.IDENTIFIED,
    PublicIncidentStatus.RESOLVED,
)


def _incident(
    n: int, started: datetime, components: tuple[str, ...], open_: bool
) -> PublicIncident:
    updates = tuple(
        PublicUpdate(
            f"u{n}-{k}",
            PublicIncidentStatus.MONITORING if open_ and k == 2 else STATUSES[k],
            f"Update {k} of incident {n}: we are working on elevated error rates for some "
            "customers and will post again within the hour.",
            started + timedelta(minutes=20 * k),
            started + timedelta(minutes=20 * k),
        )
        for k in range(3)
    )[::-1]
    end = started + timedelta(minutes=40)
    return PublicIncident(
        id=f"i{n:05d}",
        name=f"Elevated errors on {', '.join(components)} ({n})",
        status=updates[0].status,
        impact=Impact.MINOR,
        created_at=started,
        updated_at=end,
        started_at=started,
        monitoring_at=None,
        resolved_at=None if open_ else end,
        component_ids=components,
        updates=updates,
    )


def make_snapshot(components: int, incidents: int, seed: int = 7) -> StatusSnapshot:
    """A page of ``components`` components and ``incidents`` incidents over three years."""
    rng = random.Random(seed)
    ids = [f"component-{c:02d}" for c in range(components)]
    groups = tuple(
        PublicGroup(f"group-{g}", f"Group {g}", "Services of one area", g + 1, tuple(ids[g::5]))
        for g in range(5)
    )
    created = NOW - timedelta(days=3 * 365)
    comps = tuple(
        PublicComponent(
            cid,
            f"Component {n}",
            f"What component {n} does for customers",
            f"group-{n % 5}",
            n + 1,
            True,
            False,
            date(2023, 1, 1),
            ComponentStatus.OPERATIONAL,
            created,
            created,
        )
        for n, cid in enumerate(ids)
    )
    span = (NOW - created).total_seconds()
    starts = sorted(
        (NOW - timedelta(seconds=rng.random() * span) for _ in range(incidents)), reverse=True
    )
    made = tuple(
        _incident(n, at, tuple(rng.sample(ids, rng.randint(1, 2))), open_=n < 2)
        for n, at in enumerate(starts)
    )
    today = NOW.astimezone(ZONE).date()
    first = today - timedelta(days=89)
    by_day: dict[tuple[str, date], list[str]] = {}
    for incident in made:
        day = incident.started_at.astimezone(ZONE).date()
        if day >= first:
            for cid in incident.component_ids:
                by_day.setdefault((cid, day), []).append(incident.id)
    histories = []
    for cid in ids:
        days = []
        for k in range(90):
            day = first + timedelta(days=k)
            found = tuple(by_day.get((cid, day), ()))
            down = {ComponentStatus.PARTIAL_OUTAGE: 2400.0 * len(found)} if found else {}
            days.append(DayAvailability(day, 1 - 0.3 * 2400 * len(found) / 86400, down, found))
        histories.append(ComponentHistory(cid, tuple(days), 0.9991, 0.9993))
    return StatusSnapshot(
        PageInfo("Bench Status", "https://status.example.com/", ZONE, NOW),
        groups,
        comps,
        made,
        (),
        tuple(histories),
        Indicator.MINOR,
        "Minor Service Outage",
    )


def one_update(snapshot: StatusSnapshot) -> StatusSnapshot:
    """The snapshot after an operator's update on its newest (open) incident."""
    incident = snapshot.incidents[0]
    at = NOW + timedelta(minutes=1)
    update = PublicUpdate("u-new", PublicIncidentStatus.RESOLVED, "Fixed.", at, at)
    changed = replace(
        incident,
        status=PublicIncidentStatus.RESOLVED,
        updates=(update, *incident.updates),
        updated_at=at,
        resolved_at=at,
    )
    return replace(
        snapshot,
        page=replace(snapshot.page, generated_at=at),
        incidents=(changed, *snapshot.incidents[1:]),
    )


def main(argv: list[str] | None = None) -> int:
    """Runs the status site bench and prints its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench statuspage")
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--dir",
        default=None,
        help="where to write (default: the system's temporary directory); /dev/shm "
        "measures the writer's own cost, without the disk or other writers' load",
    )
    parser.add_argument(
        "--stores",
        action="append",
        choices=("sqlite", "redis", "none"),
        help="stores for the end-to-end update (repeatable; default sqlite and redis)",
    )
    args = parser.parse_args(argv)
    snapshot = make_snapshot(args.components, args.incidents)
    updated = one_update(snapshot)
    cold_render: list[float] = []
    cold_write: list[float] = []
    incremental: list[float] = []
    written = 0
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for run in range(args.runs):
            out = Path(folder) / f"run{run}"
            started = time.perf_counter()
            site = render_site(snapshot)
            rendered = time.perf_counter()
            write_site(out, site)
            cold_render.append(rendered - started)
            cold_write.append(time.perf_counter() - rendered)
            started = time.perf_counter()
            again = render_site(updated, site)
            result = write_site(out, again, site, again.fresh)
            incremental.append(time.perf_counter() - started)
            written = len(result.written)
        # What this machine's file system costs without Tocsin: the same files, plainly.
        started = time.perf_counter()
        for relative, data in site.items():
            path = Path(folder, "plain", relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        plain = time.perf_counter() - started
        tracemalloc.start()
        write_site_timed(Path(folder) / "traced", snapshot)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    front = len(site["index.html"])
    print(
        f"status site: {args.components} components, 90 days, {args.incidents} incidents, "
        f"{len(site)} files, {sum(map(len, site.values())) / 2**20:.1f} MiB, written in "
        f"{args.dir or tempfile.gettempdir()}"
    )
    print(
        f"  cold build: render best {min(cold_render):.3f} s (median "
        f"{statistics.median(cold_render):.3f}), write best {min(cold_write):.3f} s (median "
        f"{statistics.median(cold_write):.3f}); plain write_bytes of the same files {plain:.3f} s"
    )
    print(f"  peak Python heap (cold):      {peak / 2**20:.1f} MiB")
    print(
        f"  one incident update:          best {min(incremental) * 1000:.1f} ms, median "
        f"{statistics.median(incremental) * 1000:.1f} ms, {written} files written"
    )
    print(f"  front page:                   {front / 1024:.1f} KiB")
    stores = [s for s in args.stores or ("sqlite", "redis") if s != "none"]
    if stores:
        print("one public incident update, end to end (the store's documents to the files):")
    for name in stores:
        print(
            "  "
            + statuspage_update.measure(name, args.components, args.incidents, args.runs, args.dir)
        )
    return 0


def write_site_timed(out: Path, snapshot: StatusSnapshot) -> dict[str, bytes]:
    """Renders every page and writes them into ``out``; returns the rendering."""
    site = render_site(snapshot)
    write_site(out, site)
    return site
