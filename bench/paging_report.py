"""The paging bench's results, their percentiles and the tables it prints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE = "alertmanager"
GOAL_FIRST_P99_MS = 100.0
GOAL_DUE_P99_MS = 1000.0


@dataclass(slots=True)
class RateResult:
    """New alerts at one rate: how long from accepted to the first notification."""

    rate: float
    sent: int = 0
    accepted: int = 0
    notified: int = 0  # of the accepted, how many reached the receiver
    notifications: int = 0  # requests the receiver got (Alertmanager may batch)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0  # inf: more than 1% never arrived within the deadline
    max_ms: float = 0.0
    post_p99_ms: float = 0.0  # the POSTs' own latency (sent -> 2xx)
    late_ticks: int = 0
    breakdown_ms: dict[str, dict[str, float]] | None = None  # --breakdown: per hop
    target_cores: float = 0.0  # CPU of the target's processes over the phase, in cores
    loadavg: str = ""


@dataclass(slots=True)
class OpenResult:
    """Many open alerts with pending timers: memory, and timers coming due meanwhile."""

    open: int
    post_s: float = 0.0
    settle_s: float = 0.0
    settled: bool = False  # the target went idle before the probes (else: deadline)
    marker_s: float = 0.0  # posting done -> a later alert's page arrived (stages caught up)
    rss_before_kb: dict[str, int] = field(default_factory=dict)  # process -> RSS at start
    rss_after_kb: dict[str, int] = field(default_factory=dict)  # after settling
    peak_kb: dict[str, int] = field(default_factory=dict)  # VmHWM at the end
    probes: int = 0
    probes_notified: int = 0
    due_p50_ms: float = 0.0  # from the step's due time to its notification
    due_p99_ms: float = 0.0
    due_max_ms: float = 0.0
    bulk_paged: int = 0  # open alerts paged although their timer was an hour away: bug
    loadavg: str = ""


@dataclass(slots=True)
class TargetResult:
    """One target's figures, or the error that stopped it."""

    target: str
    error: str | None = None
    rates: list[RateResult] = field(default_factory=list)
    open: OpenResult | None = None


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile; ``inf`` entries (never arrived) sort last."""
    if not values:
        return math.inf
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def _ms(value: float) -> str:
    return "late" if math.isinf(value) else f"{value:,.1f}"


def render(results: Sequence[TargetResult]) -> str:
    """Both tables and the Tocsin / Alertmanager ratios."""
    lines = [
        "",
        "paging: alert accepted (POST 2xx) -> first notification at the local webhook "
        f"receiver, group_wait 0s (goal for Tocsin: p99 < {GOAL_FIRST_P99_MS:g} ms and "
        "below Alertmanager's)",
    ]
    header = (
        f"{'target':<15}{'rate/s':>7}{'accepted':>9}{'notified':>9}{'p50 ms':>9}"
        f"{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'POST p99':>9}{'cores':>6}  load"
    )
    lines += [header, "-" * len(header)]
    for result in results:
        if result.error:
            lines.append(f"{result.target:<15}FAILED: {result.error.strip().splitlines()[-1]}")
        for r in result.rates:
            lines.append(
                f"{result.target:<15}{r.rate:>7,.0f}{r.accepted:>9,}{r.notified:>9,}"
                f"{_ms(r.p50_ms):>9}{_ms(r.p90_ms):>9}{_ms(r.p99_ms):>9}{_ms(r.max_ms):>9}"
                f"{_ms(r.post_p99_ms):>9}{r.target_cores:>6.2f}  {r.loadavg}"
            )
    lines += _ratios(results)
    opened = [r for r in results if r.open is not None]
    if opened:
        lines += [
            "",
            "paging: open alerts with pending timers (an hour away), and probes whose timers "
            f"come due meanwhile (goal for Tocsin: due -> notified p99 < {GOAL_DUE_P99_MS:g} ms)",
        ]
        header = (
            f"{'target':<15}{'open':>8}{'paged s':>8}{'settle s':>9}{'probes':>8}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'bulk paged':>11}  RSS MiB after (growth)"
        )
        lines += [header, "-" * len(header)]
        for result in opened:
            o = result.open
            assert o is not None
            memory = ", ".join(
                f"{name} {kb / 1024:.0f} (+{(kb - o.rss_before_kb.get(name, 0)) / 1024:.0f})"
                for name, kb in o.rss_after_kb.items()
            )
            settle = f"{o.settle_s:.0f}" + ("" if o.settled else "!")
            probes = f"{o.probes_notified}/{o.probes}"
            lines.append(
                f"{result.target:<15}{o.open:>8,}{o.marker_s:>8.0f}{settle:>9}{probes:>8}{_ms(o.due_p50_ms):>9}"
                f"{_ms(o.due_p99_ms):>9}{_ms(o.due_max_ms):>9}{o.bulk_paged:>11}  {memory}"
            )
            lines.append(f"{'':<15}load {o.loadavg}")
        lines.append(
            "paged s: posting done -> a later alert (group_wait 0s) paged; settle s: and then "
            "idle (! = not by the deadline); RSS: after settling (growth since start); "
            "due: probe's sent + group_wait -> arrival"
        )
    return "\n".join(lines)


def _ratios(results: Sequence[TargetResult]) -> list[str]:
    reference = {r.rate: r for t in results if t.target == REFERENCE for r in t.rates}
    lines = ["", "Tocsin / Alertmanager (first notification):"]
    for result in results:
        if result.target == REFERENCE:
            continue
        for r in result.rates:
            am = reference.get(r.rate)
            if am is None or not am.p99_ms or math.isinf(am.p99_ms) or math.isinf(r.p99_ms):
                lines.append(f"  {result.target:<15}{r.rate:>7,.0f}/s: nothing to compare")
                continue
            lines.append(
                f"  {result.target:<15}{r.rate:>7,.0f}/s: p50 x{r.p50_ms / am.p50_ms:.2f}   "
                f"p99 x{r.p99_ms / am.p99_ms:.2f}"
            )
    return lines


def loadavg() -> str:
    """The machine's 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
