"""``python -m bench problems``: problem candidates with 100,000 incidents in the store.

For each store (SQLite, Redis on a private ``redis-server``): the bench commits the
100,000 incidents of ``python -m bench incidents`` (bench/incidents_fill.py, a quarter
year, one every 78 s) into a fresh store, then times ``scan_candidates`` in-process (what
``GET /api/v1/problem-candidates`` does before it encodes the answer): the incidents
opened within the period, read through the index of opening times, at most 10,000, and
grouped. Periods of 1 day, 7 days (about 7,700 incidents) and 30 days (about 33,000: the
newest 10,000 are read). p50 and p99 in ms over ``--runs`` scans each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from bench import servers
from bench.incidents_fill import SPACING, START, fill
from core.problem_candidates import Recurrence, scan_candidates
from core.store.factory import store_from_url

STORES = ("sqlite", "redis")
INCIDENTS = 100_000
RUNS = 30
PERIODS = (timedelta(days=1), timedelta(days=7), timedelta(days=30))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bench on each store and prints a table."""
    parser = argparse.ArgumentParser(prog="python -m bench problems", description=__doc__)
    parser.add_argument("--incidents", type=int, default=INCIDENTS, help="incidents to store")
    parser.add_argument("--runs", type=int, default=RUNS, help="scans per period")
    parser.add_argument("--stores", action="append", choices=STORES, help="store (repeatable)")
    args = parser.parse_args(argv)
    print(
        f"{'store':<8} {'period':>7} {'scanned':>8} {'candidates':>10} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for name in args.stores or STORES:
        with (
            tempfile.TemporaryDirectory(prefix=f"tocsin-bench-problems-{name}-") as tmp,
            ExitStack() as stack,
        ):
            url = f"sqlite://{Path(tmp) / 'bench.db'}"
            if name == "redis":
                port = stack.enter_context(servers.redis(Path(tmp))).port
                url = f"redis://127.0.0.1:{port}/0"
            for row in asyncio.run(_measure(url, args.incidents, args.runs)):
                print(f"{name:<8} {row}")
    return 0


async def _measure(url: str, incidents: int, runs: int) -> list[str]:
    store = store_from_url(url)
    await store.open()
    try:
        await fill(store, incidents)
        now = START + incidents * SPACING
        rows = []
        for within in PERIODS:
            recurrence = Recurrence(3, within)
            took: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                scan = await scan_candidates(store, recurrence, now)
                took.append((time.perf_counter() - started) * 1000)
            p50 = statistics.median(took)
            p99 = statistics.quantiles(took, n=100)[98] if len(took) > 1 else took[0]
            rows.append(
                f"{within.days:>6}d {scan.scanned:>8} {len(scan.candidates):>10}"
                f" {p50:>8.1f} {p99:>8.1f}"
            )
        return rows
    finally:
        await store.close()
