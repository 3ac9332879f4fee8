"""``python -m bench paging``: time to first notification, and timers among many open alerts.

Side by side in one run, each target configured the same way (bench/paging_config.py:
a webhook receiver, one group or incident per alert, ``group_wait: 0s``), paging one
local webhook receiver (bench/paging_receiver.py, an aiohttp server in its own process):

1. **First notification.** New alerts at each ``--rates`` (100 and 1,000 a second) for
   ``--duration`` seconds, open loop (bench/paging_load.py): per alert, from its POST's
   2xx answer to the first notification naming it at the receiver; p50, p90, p99, max.
2. **Open alerts with pending timers** (``--open``, 100,000; ``--no-open`` skips it): a
   fresh target gets that many alerts whose route waits an hour (``group_wait: 1h``:
   Tocsin's escalation step, Alertmanager's group timer), then the bench waits until a
   later alert paged at once has arrived (so every stage has decided the open ones) and
   the target is idle, and reads its memory. Then probes (20 a second for 10 s) on a route
   with ``group_wait: 15s``: from each probe's due time (its sent time + 15 s, an upper
   bound of when the timer was due) to its notification.

Targets: ``alertmanager`` (0.25), ``tocsin-sqlite`` and ``tocsin-redis`` (``tocsin
serve`` with its correlator child, as deployed). ``--nice N`` gives every target's
scheduling group (and the bench's) niceness N, as bench/amapi.py does; ``--profile``
samples Tocsin's processes with py-spy at each rate (bench/profile.py) and prints where
their time went; ``--breakdown`` splits tocsin-redis's time per hop (ingest, correlate,
escalate, deliver, send) from the store's own records (bench/paging_breakdown.py). The machine's
load average is printed beside each figure: compare ratios of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import paging_load as load
from bench.amapi import _renice_group
from bench.memory import RESULTS_FILE, _read_json, _say
from bench.paging_breakdown import breakdown, redis_port
from bench.paging_breakdown import render as render_breakdown
from bench.paging_config import alertmanager_config, tocsin_rules
from bench.paging_receiver import receiver
from bench.paging_report import (
    REFERENCE,
    OpenResult,
    RateResult,
    TargetResult,
    loadavg,
    percentile,
    render,
)
from bench.profile import find_py_spy, recording, summarise
from bench.servers import (
    Deployment,
    ServerError,
    child_pids,
    command_line,
    deploy,
    process_tree_cpu_s,
    process_usage,
)

TARGETS = ("alertmanager", "tocsin-sqlite", "tocsin-redis")
RATES = (100.0, 1000.0)
DURATION_S = 10.0
OPEN_ALERTS = 100_000
PROBE_WAIT_S = 15
PROBE_RATE = 20.0
PROBE_DURATION_S = 10.0
ARRIVAL_DEADLINE_S = 30.0
SETTLE_DEADLINE_S = 600.0
IDLE_CORES = 0.15  # the target's processes together use less than this: idle
IDLE_WINDOW_S = 3.0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bench; returns 0 if every target was measured."""
    args = _parser().parse_args(argv)
    if args.tocsin_tree is not None:
        args.tocsin_tree = args.tocsin_tree.resolve()  # Tocsin runs with it as cwd
    token = secrets.token_urlsafe(24)
    if args.nice is not None:  # the sender and the receiver too
        _renice_group(os.getpid(), args.nice)
    results: list[TargetResult] = []
    with receiver() as receiving:
        for target in args.targets or TARGETS:
            result = TargetResult(target)
            results.append(result)
            rates = ", ".join(f"{r:g}/s" for r in args.rates)
            _say(f"paging -> {target}: first notification at {rates}")
            try:
                _first_notification(result, receiving, token, args)
                if args.open:
                    _say(f"paging -> {target}: {args.open:,} open alerts with pending timers")
                    result.open = _open_timers(target, receiving, token, args)
            except (ServerError, RuntimeError, OSError) as exc:
                result.error = str(exc)
                _say(f"  FAILED: {exc}")
    print(render(results))
    report = {
        "finished_at": datetime.now(UTC).isoformat(),
        "nice": args.nice,
        "duration_s": args.duration,
        "tocsin_env": args.tocsin_env,
        "tocsin_tree": str(args.tocsin_tree) if args.tocsin_tree else None,
        "results": [asdict(r) for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    merged = {**_read_json(args.output), "paging": report}
    # A percentile of alerts that never arrived is Infinity (json reads it back).
    args.output.write_text(json.dumps(merged, indent=2) + "\n")
    _say(f"merged paging results into {args.output}")
    return 1 if any(r.error for r in results) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench paging", description=__doc__)
    parser.add_argument("--targets", action="append", choices=TARGETS, help="(repeatable)")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=list(RATES), help="new alerts per second"
    )
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds per rate")
    parser.add_argument("--open", type=int, default=OPEN_ALERTS, help="open alerts (part 2)")
    parser.add_argument("--no-open", dest="open", action="store_const", const=0)
    parser.add_argument("--nice", type=int, default=None, help="targets' niceness")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy samples Tocsin's processes at each rate"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="tocsin-redis: each hop's share of the time, from the store (paging_breakdown)",
    )
    parser.add_argument(
        "--tocsin-env",
        action="append",
        metavar="TOCSIN_X=VALUE",
        help="a setting for Tocsin (repeatable), e.g. TOCSIN_CORRELATOR_POLL_SECONDS=0.02",
    )
    parser.add_argument(
        "--tocsin-tree", type=Path, help="run Tocsin from this source tree (as python -m bench)"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="JSON file to merge the results into"
    )
    return parser


@contextmanager
def _deployed(
    target: str, receiving: str, token: str, args: argparse.Namespace
) -> Iterator[Deployment]:
    """A fresh ``target`` paging ``receiving``, reniced; stopped when the block ends."""
    deployed = target if target == REFERENCE else target + "-correlating"
    settings = dict(pair.split("=", 1) for pair in args.tocsin_env or ())
    with (
        tempfile.TemporaryDirectory(prefix=f"tocsin-bench-paging-{target}-") as tmp,
        deploy(
            deployed,
            Path(tmp),
            token,
            args.tocsin_tree,
            settings,
            tocsin_rules=tocsin_rules(receiving, PROBE_WAIT_S),
            alertmanager_config=alertmanager_config(receiving, PROBE_WAIT_S),
        ) as deployment,
    ):
        if args.nice is not None:
            for process in (deployment.server, *deployment.helpers):
                _renice_group(process.pid, args.nice)
        yield deployment


def _first_notification(
    result: TargetResult, receiving: str, token: str, args: argparse.Namespace
) -> None:
    with _deployed(result.target, receiving, token, args) as deployment:
        # A warm-up the figures leave out: connections, caches, the first incidents.
        _paced(deployment, receiving, token, 20.0, 2.0, "warmup")
        for index, rate in enumerate(args.rates):
            cpu = _cpu_reader(deployment)
            before = cpu()
            started = time.monotonic()
            with _profiling(deployment, args, f"{result.target}-{rate:g}") as profiles:
                measured, sent, first = _paced(
                    deployment, receiving, token, rate, args.duration, f"r{index}"
                )
            cores = (cpu() - before) / (time.monotonic() - started)
            measured.target_cores = cores
            result.rates.append(measured)
            if args.breakdown and result.target == "tocsin-redis":
                port = redis_port(deployment.helpers[0].pid)
                offset = time.time() - time.monotonic()
                figures = breakdown(port, sent.sent, sent.accepted, first, offset)
                measured.breakdown_ms = figures
                print(render_breakdown(result.target, rate, figures))
            for name, path in profiles.items():
                print(f"\nprofile of {result.target}'s {name} at {rate:g}/s:")
                print(summarise(path).render(top=15))


@contextmanager
def _profiling(
    deployment: Deployment, args: argparse.Namespace, label: str
) -> Iterator[dict[str, Path]]:
    """With ``--profile``: py-spy samples each Tocsin process during the block."""
    paths: dict[str, Path] = {}
    with ExitStack() as stack:
        if args.profile and deployment.target != REFERENCE:
            py_spy = find_py_spy()
            if py_spy is None:
                raise RuntimeError("--profile needs py-spy (.venv/bin/pip install py-spy)")
            for name, pid in _processes(deployment).items():
                if name == "redis":
                    continue
                paths[name] = args.output.parent / f"profile-paging-{label}-{name}.txt"
                paths[name].parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(recording(py_spy, pid, args.duration, paths[name]))
        yield paths


def _paced(
    deployment: Deployment, receiving: str, token: str, rate: float, duration: float, name: str
) -> tuple[RateResult, load.Sent, dict[str, float]]:
    """One phase of paced new alerts, waited for at the receiver; the receiver is reset."""

    async def run() -> tuple[load.Sent, dict[str, object]]:
        sent = await load.send_paced(
            deployment.base_url, token, rate=rate, duration_s=duration, prefix=name, phase=name
        )
        await load.wait_for(receiving, list(sent.accepted), ARRIVAL_DEADLINE_S)
        arrived = await load.arrivals(receiving)
        await load.reset(receiving)
        return sent, arrived

    sent, arrived = asyncio.run(run())
    first: dict[str, float] = arrived["first"]  # type: ignore[assignment]
    latencies = [
        (first[i] - at) * 1000 if i in first else math.inf for i, at in sent.accepted.items()
    ]
    posts = [(sent.accepted[i] - sent.sent[i]) * 1000 for i in sent.accepted]
    measured = RateResult(
        rate,
        sent=round(rate * duration),
        accepted=len(sent.accepted),
        notified=sum(1 for i in sent.accepted if i in first),
        notifications=int(arrived["notifications"]),  # type: ignore[call-overload]
        p50_ms=percentile(latencies, 0.5),
        p90_ms=percentile(latencies, 0.9),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies, default=math.inf),
        post_p99_ms=percentile(posts, 0.99),
        late_ticks=sent.late_ticks,
        loadavg=loadavg(),
    )
    if sent.failed:
        raise RuntimeError(f"{name}: {sent.failed} alerts refused: {sent.errors[:2]}")
    return measured, sent, first


def _open_timers(target: str, receiving: str, token: str, args: argparse.Namespace) -> OpenResult:
    result = OpenResult(args.open)
    with _deployed(target, receiving, token, args) as deployment:
        _wait_idle(_cpu_reader(deployment))  # started up: the correlator child too
        result.rss_before_kb = _memory(deployment)
        bulk = asyncio.run(load.send_bulk(deployment.base_url, token, args.open, "bulk"))
        result.post_s = bulk.elapsed_s
        settling = time.monotonic()
        # The stages take events in order: once a later alert's page (group_wait 0s) is
        # out, every open alert before it was decided. Idle CPU alone can mislead.
        result.marker_s = asyncio.run(_marker(deployment, receiving, token))
        _, result.settled = _wait_idle(_cpu_reader(deployment))
        result.settle_s = time.monotonic() - settling
        result.rss_after_kb = _memory(deployment)

        async def probe() -> tuple[load.Sent, dict[str, object]]:
            sent = await load.send_paced(
                deployment.base_url,
                token,
                rate=PROBE_RATE,
                duration_s=PROBE_DURATION_S,
                prefix="probe",
                phase="probe",
                tick_s=1 / PROBE_RATE,
            )
            await load.wait_for(receiving, list(sent.accepted), PROBE_WAIT_S + ARRIVAL_DEADLINE_S)
            arrived = await load.arrivals(receiving)
            await load.reset(receiving)
            return sent, arrived

        sent, arrived = asyncio.run(probe())
        first: dict[str, float] = arrived["first"]  # type: ignore[assignment]
        delays = [
            (first[i] - at - PROBE_WAIT_S) * 1000 if i in first else math.inf
            for i, at in sent.sent.items()
        ]
        result.probes = len(sent.sent)
        result.probes_notified = sum(1 for i in sent.sent if i in first)
        result.due_p50_ms = percentile(delays, 0.5)
        result.due_p99_ms = percentile(delays, 0.99)
        result.due_max_ms = max(delays, default=math.inf)
        result.bulk_paged = sum(1 for i in first if i.startswith("bulk-"))
        result.peak_kb = {name: kb for name, kb in _memory(deployment, peak=True).items()}
        result.loadavg = loadavg()
    return result


async def _marker(deployment: Deployment, receiving: str, token: str) -> float:
    """Sends one alert paged at once and waits for its page; returns the seconds waited."""
    sent = await load.send_paced(
        deployment.base_url, token, rate=1, duration_s=1, prefix="marker", phase="marker"
    )
    waited = await load.wait_for(receiving, list(sent.accepted), SETTLE_DEADLINE_S)
    await load.reset(receiving)
    return waited


def _processes(deployment: Deployment) -> dict[str, int]:
    """The target's processes by role: server, correlator child, Redis."""
    pids = {deployment.target.split("-")[0]: deployment.server.pid}
    for pid in child_pids(deployment.server.pid):
        if "correlate" in command_line(pid):
            pids["correlator"] = pid
    for helper in deployment.helpers:
        pids[helper.name] = helper.pid
    return pids


def _memory(deployment: Deployment, *, peak: bool = False) -> dict[str, int]:
    """RSS (or peak RSS) in KiB of each of the target's processes."""
    usage = {name: process_usage(pid) for name, pid in _processes(deployment).items()}
    return {name: u.peak_rss_kb if peak else u.rss_kb for name, u in usage.items()}


def _cpu_reader(deployment: Deployment) -> Callable[[], float]:
    """Reads the CPU seconds so far of the server's process tree and its helpers."""

    def read() -> float:
        tree = sum(process_tree_cpu_s(deployment.server.pid).values())
        return tree + sum(helper.usage().cpu_s for helper in deployment.helpers)

    return read


def _wait_idle(cpu: Callable[[], float]) -> tuple[float, bool]:
    """Waits until the target uses under IDLE_CORES over IDLE_WINDOW_S; (seconds, idle)."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_DEADLINE_S:
        before = cpu()
        time.sleep(IDLE_WINDOW_S)
        if (cpu() - before) / IDLE_WINDOW_S < IDLE_CORES:
            return time.monotonic() - started, True
    return time.monotonic() - started, False


if __name__ == "__main__":
    sys.exit(main())
