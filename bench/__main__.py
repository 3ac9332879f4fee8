"""``python -m bench``: each workload against Tocsin (SQLite, Redis) and Alertmanager 0.25.

For every (workload, target) pair: a fresh server in a fresh temp dir, a warm-up, one wrk
run from a separate process, then the server's peak memory, and the server is stopped.
Tocsin runs with ingest alone, and again (``-correlating`` targets) with its correlator
child on, whose progress is sampled from ``/metrics`` (bench/pipeline.py). Prints a
table, the pipeline table and the Tocsin/Alertmanager ratios; writes everything to
bench/results/latest.json. Then it measures the correlation stage in-process
(``python -m bench correlation``, bench/correlation.py; ``--no-correlation`` skips it) and
merges those figures into the same file. Last, the memory per open alert of Tocsin's
correlator beside Alertmanager's (``python -m bench memory``, bench/memory.py;
``--no-memory`` skips it), and the time from an alert accepted to its first notification
beside Alertmanager's (``python -m bench paging --no-open``, bench/paging.py;
``--no-paging`` skips it). ``python -m bench amapi`` (bench/amapi.py) runs on its own:
``GET /api/v2/alerts`` with 100,000 open alerts beside Alertmanager; ``python -m bench
incidents`` (bench/incidents_api.py) too: the incident list's filters with 100,000
incidents, and acknowledge under load. See bench/README.md
for how to read the numbers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from bench import (
    amapi,
    correlation,
    incidents_api,
    memory,
    paging,
    pipeline,
    problem_candidates,
    statuspage,
    statuspage_data,
)
from bench.pipeline import MetricsReader, PipelineResult, Sample
from bench.profile import ProfileSummary, find_py_spy, recording, summarise
from bench.servers import (
    ALERTMANAGER,
    REDIS_SERVER,
    TARGET_NAMES,
    Deployment,
    ServerError,
    child_pids,
    command_line,
    deploy,
    process_tree_cpu_s,
    process_usage,
)
from bench.workloads import INGEST_PATH, WORKLOAD_NAMES, Workload, prepare
from bench.wrk import WRK, WrkError, WrkResult, run_wrk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_WARMUP_DEADLINE_S = 120.0
_REFERENCE = "alertmanager"
_TARGET_WIDTH = max(len(name) for name in TARGET_NAMES)


class WarmupError(RuntimeError):
    """The server refused or failed a warm-up request."""


@dataclass(slots=True)
class RunResult:
    """One workload against one target; ``error`` is set instead of numbers if it failed."""

    workload: str
    target: str
    error: str | None = None
    duration_s: float = 0.0
    requests: int = 0
    ok_requests: int = 0
    non_2xx: int = 0
    failed_requests: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    requests_per_s: float = 0.0
    alerts_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    server_rss_after_warmup_kb: int = 0
    server_peak_rss_kb: int = 0
    redis_peak_rss_kb: int | None = None
    # The server and its children (the correlator of a -correlating target).
    server_cpu_s: float = 0.0
    redis_cpu_s: float | None = None
    wrk_cpu_s: float = 0.0
    # Busy CPU on the whole machine during the run minus server, Redis and wrk: others' load.
    other_cpu_s: float = 0.0
    profiled: bool = False
    profile: dict[str, Any] | None = None
    # -correlating targets only: the correlator child, and how it kept up (bench/pipeline.py).
    correlator_cpu_s: float | None = None
    correlator_peak_rss_kb: int | None = None
    pipeline: PipelineResult | None = None


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; returns 0 if every run succeeded."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if arguments[:1] == ["correlation"]:
        return correlation.main(arguments[1:])
    if arguments[:1] == ["memory"]:
        return memory.main(arguments[1:])
    if arguments[:1] == ["amapi"]:
        return amapi.main(arguments[1:])
    if arguments[:1] == ["incidents"]:
        return incidents_api.main(arguments[1:])
    if arguments[:1] == ["paging"]:
        return paging.main(arguments[1:])
    if arguments[:1] == ["problems"]:
        return problem_candidates.main(arguments[1:])
    if arguments[:1] == ["statuspage"]:
        return statuspage.main(arguments[1:])
    if arguments[:1] == ["statuspage-data"]:
        return statuspage_data.main(arguments[1:])
    args = _parser().parse_args(arguments)
    if args.tocsin_tree is not None:
        args.tocsin_tree = args.tocsin_tree.resolve()  # Tocsin runs with it as cwd
    py_spy = find_py_spy() if args.profile else None
    if args.profile and py_spy is None:
        print("bench: --profile needs py-spy (.venv/bin/pip install py-spy)", file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(24)
    started = datetime.now(UTC)
    environment = _environment()
    results: list[RunResult] = []
    for workload in args.only or WORKLOAD_NAMES:
        for target in args.targets or TARGET_NAMES:
            _say(f"{workload} -> {target}: {args.duration:g}s, {args.connections} connections")
            results.append(_run(workload, target, token, args, py_spy))
            if results[-1].error:
                _say(f"  FAILED: {results[-1].error}")
    print(_table(results))
    print(pipeline.table(results, _TARGET_WIDTH))
    print(_ratios(results))
    for result in results:
        if result.profile is not None:
            print(f"\nprofile of {result.target} under {result.workload}:")
            print(ProfileSummary(**result.profile).render())
    output = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "timeout_s": args.timeout,
            "tocsin_tree": str(args.tocsin_tree) if args.tocsin_tree else None,
        },
        "environment": environment,
        "results": [asdict(result) for result in results],
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    _say(f"wrote {output}")
    status = 1 if any(result.error for result in results) else 0
    if args.tocsin_tree is not None:
        # The correlation and memory benches run the working tree's Tocsin.
        _say("correlation, memory, paging: skipped with --tocsin-tree; run each on its own")
        return status
    if not args.no_correlation:
        status = max(status, correlation.main(["--output", str(output)]))
    if not args.no_memory:
        status = max(status, memory.main(["--output", str(output)]))
    if not args.no_paging:
        # Time to first notification only; `python -m bench paging` adds 100,000 open alerts.
        status = max(status, paging.main(["--no-open", "--output", str(output)]))
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog="python -m bench correlation --help: the options of the correlation bench",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores: keep 1)")
    parser.add_argument("--timeout", type=float, default=10.0, help="wrk request timeout, s")
    parser.add_argument(
        "--only", action="append", choices=WORKLOAD_NAMES, help="workload (repeatable)"
    )
    parser.add_argument(
        "--targets", action="append", choices=TARGET_NAMES, help="target (repeatable)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample Tocsin with py-spy during its runs (perturbs the numbers)",
    )
    parser.add_argument(
        "--tocsin-tree",
        type=Path,
        help="run Tocsin from this source tree (e.g. a git archive of another commit)",
    )
    parser.add_argument(
        "--no-correlation",
        action="store_true",
        help="skip the correlation bench that otherwise runs after the ingest workloads",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the memory bench (memory per open alert) that runs last",
    )
    parser.add_argument(
        "--no-paging",
        action="store_true",
        help="skip the paging bench's time to first notification (python -m bench paging)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.json", help="JSON results file"
    )
    return parser


def _run(
    workload_name: str, target: str, token: str, args: argparse.Namespace, py_spy: str | None
) -> RunResult:
    result = RunResult(workload_name, target)
    try:
        with tempfile.TemporaryDirectory(prefix=f"tocsin-bench-{workload_name}-") as tmp:
            workdir = Path(tmp)
            workload = prepare(workload_name, workdir, token, datetime.now(UTC))
            with deploy(target, workdir, token, args.tocsin_tree) as deployment:
                _warm_up(deployment.base_url, workload, token)
                result.server_rss_after_warmup_kb = deployment.server.usage().rss_kb
                _measure(result, deployment, workload, args, py_spy)
    except (ServerError, WarmupError, WrkError, RuntimeError, OSError) as exc:
        result.error = str(exc)
    return result


def _measure(
    result: RunResult,
    deployment: Deployment,
    workload: Workload,
    args: argparse.Namespace,
    py_spy: str | None,
) -> None:
    server, helpers = deployment.server, deployment.helpers
    reader = MetricsReader(deployment.base_url) if deployment.correlating else None
    if reader is not None:
        # Start from a correlator that has caught up with the warm-up's entries.
        result.pipeline = PipelineResult(warmup_catch_up_s=pipeline.settle(reader))
    correlator = _correlator_pid(server.pid) if deployment.correlating else None
    tree_before = process_tree_cpu_s(server.pid)
    helpers_before = [h.usage() for h in helpers]
    busy_before = _machine_busy_s()
    profile_path = args.output.parent / f"profile-{workload.name}-{deployment.target}.txt"
    profiling = (
        recording(py_spy, server.pid, args.duration, profile_path)
        if py_spy is not None and deployment.target.startswith("tocsin")
        else nullcontext()
    )
    profile_path.parent.mkdir(parents=True, exist_ok=True)
    no_samples: list[Sample] = []
    sampler = pipeline.sampling(reader) if reader is not None else nullcontext(no_samples)
    with profiling, sampler as samples:
        wrk_started = time.monotonic()
        run = run_wrk(
            deployment.base_url + INGEST_PATH,
            workload.script,
            duration_s=args.duration,
            connections=args.connections,
            threads=args.threads,
            timeout_s=args.timeout,
        )
        wrk_ended = time.monotonic()  # before the sampling thread's last scrape is joined
    busy_s = _machine_busy_s() - busy_before
    for process in (server, *helpers):
        if not process.alive():
            raise ServerError(f"{process.name} died during the run:\n{process.log_tail()}")
    server_after = server.usage()
    tree_after = process_tree_cpu_s(server.pid)
    helpers_after = [h.usage() for h in helpers]
    _fill(result, run, workload)
    result.server_peak_rss_kb = server_after.peak_rss_kb
    result.server_cpu_s = sum(cpu - tree_before.get(pid, 0.0) for pid, cpu in tree_after.items())
    if correlator is not None and correlator in tree_after:
        result.correlator_cpu_s = tree_after[correlator] - tree_before.get(correlator, 0.0)
    helper_cpu = sum(a.cpu_s - b.cpu_s for a, b in zip(helpers_after, helpers_before, strict=True))
    if helpers:
        result.redis_peak_rss_kb = max(a.peak_rss_kb for a in helpers_after)
        result.redis_cpu_s = helper_cpu
    result.other_cpu_s = max(0.0, busy_s - result.server_cpu_s - helper_cpu - run.cpu_s)
    if reader is not None and result.pipeline is not None:
        pipeline.finish(result.pipeline, reader, samples, wrk_started, wrk_ended)
        reader.close()
        # Read after the catch-up, which is part of the correlator's work; it may have
        # been restarted, so look for it again.
        caught_up = process_tree_cpu_s(server.pid)
        if correlator in caught_up and correlator in tree_after:
            result.pipeline.catch_up_cpu_s = caught_up[correlator] - tree_after[correlator]
        correlator = _correlator_pid(server.pid)
        if correlator is not None:
            result.correlator_peak_rss_kb = process_usage(correlator).peak_rss_kb
    if isinstance(profiling, nullcontext):
        return
    result.profiled = True
    result.profile = asdict(summarise(profile_path))


def _correlator_pid(server_pid: int) -> int | None:
    # `tocsin serve` starts `python -m tocsin.cli correlate ...`; an older tree
    # (--tocsin-tree) correlates in its own process and has no such child.
    for pid in child_pids(server_pid):
        if "correlate" in command_line(pid):
            return pid
    return None


def _fill(result: RunResult, run: WrkResult, workload: Workload) -> None:
    result.duration_s = run.duration_s
    result.requests = run.requests
    result.ok_requests = run.ok_requests
    result.non_2xx = run.non_2xx
    result.failed_requests = run.failed_requests
    result.status_counts = run.status_counts
    result.requests_per_s = run.requests / run.duration_s
    result.alerts_per_s = run.ok_requests * workload.alerts_per_request / run.duration_s
    result.latency_ms = run.latency_ms
    result.wrk_cpu_s = run.cpu_s


def _warm_up(base_url: str, workload: Workload, token: str) -> None:
    """POSTs every warm-up body once, in order, and insists on 2xx for each."""
    parts = urlsplit(base_url)
    deadline = time.monotonic() + _WARMUP_DEADLINE_S
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    with _connection(parts.hostname or "127.0.0.1", parts.port or 80) as connection:
        for index, body in enumerate(workload.warmup):
            if time.monotonic() > deadline:
                raise WarmupError(f"warm-up took longer than {_WARMUP_DEADLINE_S:g}s")
            connection.request("POST", INGEST_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if not 200 <= response.status < 300:
                raise WarmupError(
                    f"warm-up request {index} got {response.status}: {answer[:300]!r}"
                )


@contextmanager
def _connection(host: str, port: int) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection(host, port, timeout=30.0)
    try:
        yield connection
    finally:
        connection.close()


def _table(results: Sequence[RunResult]) -> str:
    header = (
        f"{'workload':<8} {'target':<{_TARGET_WIDTH}} {'alerts/s':>9} {'req/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>8} {'non-2xx':>7} {'sockerr':>7} {'peak RSS':>9} {'Redis RSS':>9} "
        f"{'srv CPU':>7} {'others':>6}"
    )
    lines = ["", header, "-" * len(header)]
    for r in results:
        if r.error:
            lines.append(f"{r.workload:<8} {r.target:<{_TARGET_WIDTH}} FAILED: {_gist(r.error)}")
            continue
        redis = "-" if r.redis_peak_rss_kb is None else _mib(r.redis_peak_rss_kb)
        server_cpu = _percent(r.server_cpu_s, r.duration_s)
        other_cpu = _percent(r.other_cpu_s, r.duration_s)
        lines.append(
            f"{r.workload:<8} {r.target:<{_TARGET_WIDTH}} {r.alerts_per_s:>9,.0f} "
            f"{r.requests_per_s:>7,.0f} {r.latency_ms['p50']:>7.1f} {r.latency_ms['p99']:>8.1f} "
            f"{r.non_2xx:>7} {r.failed_requests:>7} {_mib(r.server_peak_rss_kb):>9} {redis:>9} "
            f"{server_cpu:>7} {other_cpu:>6}" + ("  (profiled)" if r.profiled else "")
        )
    lines.append(
        "peak RSS = server VmHWM; CPU columns = % of one core over the run (srv = server "
        "and its correlator child, others = rest of the machine minus server, Redis and wrk)"
    )
    return "\n".join(lines)


def _ratios(results: Sequence[RunResult]) -> str:
    lines = ["", "Tocsin / Alertmanager:"]
    for workload in dict.fromkeys(r.workload for r in results):
        runs = {r.target: r for r in results if r.workload == workload and not r.error}
        reference = runs.get(_REFERENCE)
        if reference is None or reference.alerts_per_s == 0:
            lines.append(f"  {workload}: no Alertmanager result to compare with")
            continue
        for target, run in runs.items():
            if target == _REFERENCE:
                continue
            throughput = run.alerts_per_s / reference.alerts_per_s
            p99 = run.latency_ms["p99"] / reference.latency_ms["p99"]
            # Tocsin's memory is that of both its processes (the sum of their peaks).
            rss_kb = run.server_peak_rss_kb + (run.correlator_peak_rss_kb or 0)
            memory = rss_kb / reference.server_peak_rss_kb
            lines.append(
                f"  {workload:<8} {target:<{_TARGET_WIDTH}} alerts/s x{throughput:.2f}"
                f"   p99 x{p99:.2f}   peak RSS x{memory:.2f}"
            )
    return "\n".join(lines)


def _gist(error: str) -> str:
    # The first line says what failed; the last line of a log tail usually says why.
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if len(lines) <= 1:
        return error.strip()
    return f"{lines[0]} ... {lines[-1]}"


def _mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def _percent(cpu_s: float, duration_s: float) -> str:
    return f"{100 * cpu_s / duration_s:.0f}%" if duration_s else "-"


def _machine_busy_s() -> float:
    # First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def _environment() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
        "tocsin_commit": _output(["git", "rev-parse", "--short", "HEAD"]),
        "tocsin_worktree_dirty": bool(_output(["git", "status", "--porcelain"])),
        "alertmanager": _output([ALERTMANAGER, "--version"]).splitlines()[:1],
        "redis": _output([REDIS_SERVER, "--version"]),
        "wrk": _output([WRK, "-v"]).splitlines()[:1],
    }


def _output(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


def _say(message: str) -> None:
    sys.stdout.flush()  # keep the progress lines and the table in order on one terminal
    print(message, file=sys.stderr, flush=True)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Raising SystemExit unwinds the with-blocks, which stop every server.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
