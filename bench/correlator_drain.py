"""The correlator's own capacity: how fast it works off a backlog that is already logged.

The log is filled first (8 appenders, batches of 64, as in correlator_load), with no
correlator running. Then one correlator drains it alone, in this process, with the
garbage collector tuned as ``tocsin serve`` and ``tocsin correlate`` tune it. Wall time
and the process's CPU time are measured over the drain only; a Redis store's own CPU is
not in the latter (it runs in its own process).

- ``storm``: 200,000 alerts, every one new; 240 incidents that grow to about 830 alerts
  each. Enough that the drain is mostly full steps (16,000 entries), not the small first
  ones.
- ``resend``: the ingest bench's 10,000 alerts, logged 5 times over (50,000 entries,
  duplicates after the first 10,000).

This is the figure to hold against ingest's alerts/s of the same workload: the rate at
which the correlator can take entries when it has a core of its own. Whether it keeps
up beside ingest on this machine is the pipeline table of ``python -m bench``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.correlator_harness import new_correlator
from bench.correlator_load import APPENDERS, batches, ingest_rates, resend_refresh_s
from bench.workloads import RESEND_ALERTS
from core.clock import SystemClock
from core.store import Store
from rules.model import Rules

DRAIN_SHAPES = ("resend", "storm")
DRAIN_STORM_ALERTS = 200_000
_DRAIN_LIMIT_S = 120.0


@dataclass(slots=True)
class DrainResult:
    """One shape drained on one store; ``error`` is set instead of figures if it failed."""

    store: str
    shape: str
    error: str | None = None
    entries: int = 0
    steps: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    per_s: float = 0.0
    per_cpu_s: float = 0.0


async def run_drain(store_name: str, store: Store, rules: Rules, shape: str) -> DrainResult:
    """Logs ``shape`` into ``store`` (open, empty), then times one correlator draining it."""
    result = DrainResult(store_name, shape)
    pending = iter(batches(shape, storm_alerts=DRAIN_STORM_ALERTS))

    async def append() -> int:
        logged = 0
        while (batch := next(pending, None)) is not None:
            await store.append(batch)
            logged += len(batch)
        return logged

    logged = sum(await asyncio.gather(*(append() for _ in range(APPENDERS))))
    correlator = new_correlator(store, rules, SystemClock(), member="bench-drain")
    deadline = time.monotonic() + _DRAIN_LIMIT_S
    started, cpu_started = time.perf_counter(), time.process_time()
    # As ``tocsin correlate`` runs: each step's commit overlaps the next step.
    while result.entries < logged and time.monotonic() < deadline:
        result.entries += await correlator.step(overlap=True)
        result.steps += 1
    await correlator.settle()
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_started
    if result.entries < logged:
        result.error = f"drained {result.entries:,} of {logged:,} in {_DRAIN_LIMIT_S:g}s"
    result.per_s = result.entries / result.wall_s if result.wall_s else 0.0
    result.per_cpu_s = result.entries / result.cpu_s if result.cpu_s else 0.0
    return result


def render_drain(results: Sequence[DrainResult], existing: Mapping[str, Any]) -> str:
    """The drain table, then each storm row against ingest's rate in ``existing``."""
    header = (
        f"{'shape':<7}{'store':<7}{'entries':>9}{'steps':>7}{'wall s':>8}{'cpu s':>7}"
        f"{'entries/s':>11}{'per cpu-s':>11}"
    )
    lines = [
        "",
        "correlation / drain: the log filled first, then one correlator works it off alone",
        header,
        "-" * len(header),
    ]
    for r in results:
        if r.error:
            lines.append(f"{r.shape:<7}{r.store:<7}FAILED: {r.error}")
            continue
        lines.append(
            f"{r.shape:<7}{r.store:<7}{r.entries:>9,}{r.steps:>7}{r.wall_s:>8.2f}"
            f"{r.cpu_s:>7.2f}{r.per_s:>11,.0f}{r.per_cpu_s:>11,.0f}"
        )
    lines.append(
        "entries/s = entries drained per second of wall time; per cpu-s = per second of this "
        "process's CPU time (a Redis server's own CPU not included)"
    )
    ingest = ingest_rates(existing)
    lines += ["", "drain rate against ingest alone (bench/results/latest.json):"]
    for r in results:
        if r.error:
            continue
        if r.shape == "resend":
            # Ingest's duplicate filter logs a known firing alert only as a refresh.
            logged = RESEND_ALERTS / resend_refresh_s()
            verdict = "keeps up" if r.per_s >= logged else "falls behind"
            lines.append(
                f"  resend {r.store:<7}ingest logs only refreshes of its 10,000 alerts "
                f"(~{logged:,.0f}/s), drain {r.per_s:>7,.0f} entries/s: {verdict}"
            )
            continue
        rate = ingest.get((r.shape, f"tocsin-{r.store}"), 0.0)
        if not rate:
            lines.append(f"  {r.shape:<7}{r.store:<7}no ingest figure to compare with")
            continue
        verdict = "keeps up" if r.per_s >= rate else "falls behind"
        lines.append(
            f"  {r.shape:<7}{r.store:<7}ingest {rate:>7,.0f} alerts/s, drain {r.per_s:>7,.0f} "
            f"entries/s: x{r.per_s / rate:.2f}, {verdict}"
        )
    return "\n".join(lines)
