"""One public incident update, end to end: the store's documents to the files written.

Part of ``python -m bench statuspage`` (``--stores``): fills a fresh store with the status
page's documents as its writer keeps them (``bench.statuspage_data``: 50 components,
10,000 public incidents over three years, 91 days of stretches), builds the site once as
``tocsin serve`` does (``tocsin.status_site.SiteBuilder``: snapshot, render, write), then,
``runs`` times, files an operator's update of an open incident, times the writer's step
that applies it, and times the builder's regeneration told of that step's ``Changes``
(read what changed, render, write the changed files). "Event to files" is the two
together, per update: from the writer's step that takes the operator's command to the
last file written. It also reports the CPU time of the process for the same span (all
threads), which a busy machine moves less than the wall clock. The clock moves one
minute per update; every component has downtime today (the same for all), so when
today's uptime rolls over to the next 0.01% (every few minutes), every bar and
day-by-day page changes at once: those runs write 63 files instead of 14.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench import servers
from bench.statuspage_data import NOW, _fill, _rules
from core.clock import ManualClock
from core.store import Store
from core.store.factory import store_from_url
from rules.model import Rules
from statuspage.commands import incident_command, update_command
from statuspage.model import Impact
from statuspage.writer import StatusWriter, file_command, new_id
from tocsin.status_site import SiteBuilder


@dataclass(frozen=True, slots=True)
class UpdateFigures:
    """Seconds: the cold build, and per update the writer's step and the regeneration."""

    cold: float
    steps: list[float]
    builds: list[float]
    cpu: list[float]  # CPU seconds of the process from the step to the files written
    written: list[int]


def measure(name: str, components: int, incidents: int, runs: int, out_dir: str | None) -> str:
    """Runs the end-to-end update bench on store ``name`` (sqlite or redis); a table row."""
    with (
        tempfile.TemporaryDirectory(prefix=f"tocsin-bench-update-{name}-") as tmp,
        tempfile.TemporaryDirectory(dir=out_dir) as out,
        ExitStack() as stack,
    ):
        url = f"sqlite://{Path(tmp) / 'bench.db'}"
        if name == "redis":
            port = stack.enter_context(servers.redis(Path(tmp))).port
            url = f"redis://127.0.0.1:{port}/0"
        figures = asyncio.run(_measure(url, components, incidents, runs, Path(out) / "site"))
    step, build = figures.steps, figures.builds
    total = [a + b for a, b in zip(step, build, strict=True)]
    return (
        f"{name:<8} cold build {figures.cold:.2f} s; one update: writer step best "
        f"{min(step) * 1000:.1f} ms (median {statistics.median(step) * 1000:.1f}),"
        f" regeneration best {min(build) * 1000:.1f} ms (median "
        f"{statistics.median(build) * 1000:.1f}); event to files best "
        f"{min(total) * 1000:.1f} ms (median {statistics.median(total) * 1000:.1f}), CPU best "
        f"{min(figures.cpu) * 1000:.1f} ms (median {statistics.median(figures.cpu) * 1000:.1f});"
        f" files written {min(figures.written)} to {max(figures.written)} (median "
        f"{statistics.median(figures.written):.0f})"
    )


async def _measure(
    url: str, components: int, incidents: int, runs: int, out: Path
) -> UpdateFigures:
    store = store_from_url(url)
    await store.open()
    try:
        rules = _rules(components)
        await _fill(store, components, incidents)
        clock = ManualClock(NOW)
        writer = StatusWriter(store, lambda: rules, clock, "bench")
        public_id = await _open_incident(store, writer, rules, clock)
        builder = SiteBuilder(lambda: store, lambda: rules, clock, out, debounce_seconds=0)
        began = time.perf_counter()
        await builder.build()
        cold = time.perf_counter() - began
        steps: list[float] = []
        builds: list[float] = []
        cpu: list[float] = []
        written: list[int] = []
        for n in range(runs):
            clock.advance(timedelta(minutes=1))
            raw = {"status": "identified" if n % 2 else "monitoring", "body": f"Update {n}."}
            known = {c.name for c in rules.status_page.components}
            command = update_command(raw, known, public_id, new_id(), clock.now(), Impact.MAJOR)
            await file_command(store, command)
            began, cpu_began = time.perf_counter(), time.process_time()
            changes = await writer.step()
            steps.append(time.perf_counter() - began)
            assert changes, "the writer applied nothing"
            began = time.perf_counter()
            await builder.changed(changes)
            result = await builder.build()
            builds.append(time.perf_counter() - began)
            cpu.append(time.process_time() - cpu_began)
            written.append(len(result.written))
        return UpdateFigures(cold, steps, builds, cpu, written)
    finally:
        await store.close()


async def _open_incident(
    store: Store, writer: StatusWriter, rules: Rules, clock: ManualClock
) -> str:
    """Opens a public incident on one component through the API's command; its id."""
    while await writer.step():
        pass  # the page's first steps
    known = {c.name for c in rules.status_page.components}
    raw = {"name": "Slow checkout", "body": "Investigating.", "components": ["c01"]}
    command = incident_command(raw, known, new_id(), new_id(), clock.now())
    await file_command(store, command)
    while await writer.step():
        pass
    return str(command["id"])
