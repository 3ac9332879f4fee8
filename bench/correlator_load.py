"""Correlator throughput and lag under the ingest bench's two shapes, straight into the store.

Eight appenders put batches of 64 alerts into the alert log as fast as the store takes
them (so group commit works as it does under 32 HTTP connections), while one
correlator, in the same event loop as in a single Tocsin process, steps through the
log. When the appenders stop (all alerts appended, or the time limit), the correlator
goes on alone until it has caught up, or a second time limit passes.

- ``resend``: the ingest bench's 10,000 alerts, appended again round after round, so
  after the first round every entry is a duplicate. (Ingest itself writes a known
  alert again only for a freshness refresh, so this is far more than the log would
  hold; it measures the correlator's duplicate path.)
- ``storm``: every alert new (a new ``instance``); 20 alertnames x 12 services, as in
  bench/workloads.py, so 240 incidents that keep growing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.correlator_harness import new_correlator
from bench.workloads import BATCH_SIZE, ENDS_AFTER, RESEND_ALERTS
from bench.workloads import _alert as wire_alert
from core.clock import SystemClock
from core.fingerprint import labels_fingerprint
from core.incident import OPEN_STATES
from core.model import Alert, AlertStatus
from core.store import IncidentQuery, Store
from rules.model import Rules

SHAPES = ("resend", "storm")
APPENDERS = 8
RESEND_ROUNDS = 5  # 50,000 entries
STORM_ALERTS = 50_000
APPEND_LIMIT_S = 8.0
CATCH_UP_LIMIT_S = 12.0
_IDLE_POLL_S = 0.001
_STEP_GRACE_S = 30.0


@dataclass(slots=True)
class LoadResult:
    """One shape on one store; ``error`` is set instead of figures if it failed."""

    store: str
    shape: str
    error: str | None = None
    appended: int = 0
    append_s: float = 0.0
    append_per_s: float = 0.0
    correlated_while_appending: int = 0
    correlate_per_s_while_appending: float = 0.0
    # At the moment the appenders stopped: entries not yet correlated, and the age of the
    # oldest of them (how long ago it became durable).
    lag_entries: int = 0
    lag_s: float = 0.0
    caught_up: bool = False
    catch_up_s: float = 0.0
    left_entries: int = 0  # still not correlated when the correlator stopped
    # lag_entries / correlate_per_s_alone: how long the backlog takes to work off.
    backlog_s: float = 0.0
    correlate_per_s_alone: float = 0.0
    correlated: int = 0
    correlate_per_s: float = 0.0  # all entries correlated / time until caught up (or gave up)
    # Rate over the first and the last fifth of the entries: a falling rate means the cost
    # of an entry grows with what was correlated before it.
    first_fifth_per_s: float = 0.0
    last_fifth_per_s: float = 0.0
    steps: int = 0
    slowest_step_s: float = 0.0
    open_incidents: int = 0
    largest_incident_alerts: int = 0
    rate_windows: list[tuple[int, float]] = field(default_factory=list)


def batches(shape: str, storm_alerts: int = STORM_ALERTS) -> list[list[Alert]]:
    """The batches of 64 alerts that ``shape`` appends, in order."""
    now = datetime.now(UTC)
    if shape == "resend":
        alerts = [_alert(n, f"host-{n:05d}:9100", now) for n in range(RESEND_ALERTS)]
        one_round = [alerts[i : i + BATCH_SIZE] for i in range(0, len(alerts), BATCH_SIZE)]
        return one_round * RESEND_ROUNDS
    if shape == "storm":
        alerts = [_alert(n, f"storm-{n:06d}:9100", now) for n in range(storm_alerts)]
        return [alerts[i : i + BATCH_SIZE] for i in range(0, len(alerts), BATCH_SIZE)]
    raise ValueError(f"unknown shape {shape!r}; choose from {', '.join(SHAPES)}")


def _alert(n: int, instance: str, now: datetime) -> Alert:
    # The ingest bench's alert n, as ingest would log it.
    raw = wire_alert(n, instance, now)
    labels: dict[str, str] = raw["labels"]
    return Alert(
        source="bench",
        fingerprint=labels_fingerprint(labels),
        labels=labels,
        annotations=raw["annotations"],
        status=AlertStatus.FIRING,
        starts_at=now,
        ends_at=now + ENDS_AFTER,
        generator_url=raw["generatorURL"],
        received_at=now,
    )


class _Progress:
    """Shared counters of the appenders and the correlator, with their timestamps."""

    def __init__(self) -> None:
        self.appended = 0
        self.appended_at: list[tuple[int, float]] = []  # (entries durable so far, when)
        self.correlated = 0
        self.correlated_at: list[tuple[int, float]] = []  # (entries correlated so far, when)
        self.appending_done = asyncio.Event()
        self.give_up_at = float("inf")  # the correlator stops at this time if not caught up

    def durable_since(self, entries: int, now: float) -> float:
        """How long ago the log first held more than ``entries`` durable entries."""
        for count, at in self.appended_at:
            if count > entries:
                return now - at
        return 0.0


async def run_load(store_name: str, store: Store, rules: Rules, shape: str) -> LoadResult:
    """Appends ``shape`` to ``store`` (open, empty) while a correlator consumes it."""
    result = LoadResult(store_name, shape)
    work = batches(shape)
    correlator = new_correlator(store, rules, SystemClock(), member="bench-load")
    progress = _Progress()
    pending: Iterator[list[Alert]] = iter(work)
    started = time.monotonic()
    append_deadline = started + APPEND_LIMIT_S

    async def append() -> None:
        while time.monotonic() < append_deadline and (batch := next(pending, None)) is not None:
            await store.append(batch)
            progress.appended += len(batch)
            progress.appended_at.append((progress.appended, time.monotonic()))

    async def correlate() -> None:
        while not progress.appending_done.is_set() or time.monotonic() < progress.give_up_at:
            before = time.monotonic()
            consumed = await correlator.step()
            after = time.monotonic()
            result.slowest_step_s = max(result.slowest_step_s, after - before)
            if consumed:
                result.steps += 1
                progress.correlated += consumed
                progress.correlated_at.append((progress.correlated, after))
            elif progress.appending_done.is_set() and progress.correlated >= progress.appended:
                result.caught_up = True
                return
            else:
                await asyncio.sleep(_IDLE_POLL_S)

    async def appenders() -> None:
        await asyncio.gather(*(append() for _ in range(APPENDERS)))
        progress.give_up_at = time.monotonic() + CATCH_UP_LIMIT_S
        progress.appending_done.set()

    correlating = asyncio.create_task(correlate())
    await appenders()
    appended_at = time.monotonic()
    result.appended = progress.appended
    result.append_s = appended_at - started
    result.correlated_while_appending = progress.correlated
    result.lag_entries = progress.appended - progress.correlated
    result.lag_s = progress.durable_since(progress.correlated, appended_at)
    # One step past the limit is allowed for; beyond that something hangs.
    await _bounded(correlating, CATCH_UP_LIMIT_S + _STEP_GRACE_S)
    finished = progress.correlated_at[-1][1] if progress.correlated_at else appended_at
    _rates(result, progress, started, appended_at, finished)
    open_incidents = await store.list_incidents(IncidentQuery(states=OPEN_STATES, limit=100_000))
    result.open_incidents = len(open_incidents)
    result.largest_incident_alerts = max((len(i.alerts) for i in open_incidents), default=0)
    return result


async def _bounded(task: asyncio.Task[None], seconds: float) -> None:
    """Waits for ``task``; cancels it if it overruns (a step that never returns, say)."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise RuntimeError(f"the correlator did not stop within {seconds:g}s")
    task.result()


def _rates(
    result: LoadResult, progress: _Progress, started: float, appended_at: float, finished: float
) -> None:
    result.correlated = progress.correlated
    result.append_per_s = _per_s(result.appended, result.append_s)
    result.correlate_per_s_while_appending = _per_s(
        result.correlated_while_appending, result.append_s
    )
    result.catch_up_s = max(0.0, finished - appended_at)
    result.correlate_per_s_alone = _per_s(
        result.correlated - result.correlated_while_appending, result.catch_up_s
    )
    result.correlate_per_s = _per_s(result.correlated, finished - started)
    result.left_entries = result.appended - result.correlated
    result.backlog_s = _per_s(result.lag_entries, result.correlate_per_s_alone)
    marks = [(0, started), *progress.correlated_at]
    fifth = result.correlated // 5
    if fifth:
        result.first_fifth_per_s = _rate_between(marks, 0, fifth)
        result.last_fifth_per_s = _rate_between(marks, result.correlated - fifth, result.correlated)
    # Ten windows of equal entry counts, for the JSON: (entries at the window's end, rate).
    step = max(1, result.correlated // 10)
    result.rate_windows = [
        (high, round(_rate_between(marks, high - step, high)))
        for high in range(step, result.correlated + 1, step)
    ]


def _rate_between(marks: Sequence[tuple[int, float]], low: int, high: int) -> float:
    """Entries/s between the marks where ``low`` and ``high`` entries had been correlated."""
    start = next(at for count, at in marks if count >= low)
    end = next(at for count, at in marks if count >= high)
    return _per_s(high - low, end - start)


def _per_s(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def render_load(results: Sequence[LoadResult]) -> str:
    """The throughput table (the correlator's capacity against ingest is the drain part's)."""
    header = (
        f"{'shape':<7}{'store':<7}{'appended':>9}{'append/s':>9}{'corr/s':>8}{'lag':>8}"
        f"{'lag s':>7}{'alone/s':>8}{'backlog s':>10}{'left':>8}{'1st 5th/s':>10}"
        f"{'last 5th/s':>11}{'slowest':>8}"
    )
    lines = [
        "",
        f"correlation / throughput: {APPENDERS} appenders x batches of {BATCH_SIZE}, "
        f"at most {APPEND_LIMIT_S:g}s, then the correlator alone for at most "
        f"{CATCH_UP_LIMIT_S:g}s",
        header,
        "-" * len(header),
    ]
    for r in results:
        if r.error:
            lines.append(f"{r.shape:<7}{r.store:<7}FAILED: {r.error}")
            continue
        lines.append(
            f"{r.shape:<7}{r.store:<7}{r.appended:>9,}{r.append_per_s:>9,.0f}"
            f"{r.correlate_per_s_while_appending:>8,.0f}{r.lag_entries:>8,}{r.lag_s:>7.1f}"
            f"{r.correlate_per_s_alone:>8,.0f}{r.backlog_s:>10.1f}{r.left_entries:>8,}"
            f"{r.first_fifth_per_s:>10,.0f}{r.last_fifth_per_s:>11,.0f}"
            f"{r.slowest_step_s:>7.2f}s"
        )
    lines.append(
        "corr/s = entries correlated per second while the appenders ran (sharing the CPU); "
        "lag = entries behind the log when they stopped, lag s = age of the oldest of those; "
        "alone/s = rate while catching up alone; backlog s = lag / alone/s; left = entries "
        f"still behind after {CATCH_UP_LIMIT_S:g}s alone (0: caught up); 1st/last 5th = rate "
        "over the first/last fifth of the entries correlated; slowest = longest step"
    )
    return "\n".join(lines)


def ingest_rates(existing: Mapping[str, Any]) -> dict[tuple[Any, Any], float]:
    """(workload, target) -> alerts/s of the ingest runs in a ``latest.json``."""
    return {
        (run.get("workload"), run.get("target")): run.get("alerts_per_s") or 0.0
        for run in existing.get("results", [])
        if isinstance(run, dict) and not run.get("error")
    }


def resend_refresh_s() -> float:
    """Seconds between two log writes of an unchanged firing alert through ingest's filter.

    ingest/dedup.py writes it again three quarters of the way to its written ``endsAt``
    (4 minutes ahead for Prometheus), unless its refresh setting (300 s) comes first.
    """
    return min(300.0, 0.75 * ENDS_AFTER.total_seconds())
