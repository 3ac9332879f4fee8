"""``python -m bench amapi``: ``GET /api/v2/alerts`` with 100,000 open alerts, beside Alertmanager.

Each target gets the same N distinct firing alerts (the memory bench's: the storm shape,
20 alertnames x 12 services, a new ``instance`` each, ``endsAt`` an hour ahead), posted
once to ``POST /api/v2/alerts``. Once it holds them all (Alertmanager: its
``alertmanager_alerts{state="active"}``; Tocsin: its correlator child caught up), the
bench asks ``GET /api/v2/alerts`` for all of them ``--repeats`` times, one after another,
and reads each answer whole:

- ``first byte`` and ``total``: seconds until the status line, and until the last byte;
- ``alerts`` and ``MB``: how many alerts the last answer held, and its size;
- ``health max``: meanwhile a separate process asks ``GET /-/healthy`` every 5 ms; the
  longest of those answers is an upper bound of how long the server's event loop was
  held at once (Tocsin serves everything from one loop; Alertmanager is Go, concurrent).

Targets: ``alertmanager`` (Alertmanager 0.25), ``tocsin-sqlite`` and ``tocsin-redis``
(``tocsin serve`` with its correlator child, as deployed). Tocsin's goal: under 1 s for
100,000 alerts, never holding its loop for more than 50 ms.

``--nice N`` (Linux): each target's processes (and Redis) get their scheduling group's
niceness set to N, so that on a machine shared with other work the figures measure the
target, not its wait for a CPU. Every target gets the same.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import multiprocessing.connection
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.memory import RESULTS_FILE, _bodies, _metric, _read_json, _say, _wait
from bench.pipeline import MetricsReader, wait_until_caught_up
from bench.servers import Deployment, ServerError, deploy
from bench.workloads import INGEST_PATH

TARGETS = ("alertmanager", "tocsin-sqlite", "tocsin-redis")
REFERENCE = "alertmanager"
OPEN_ALERTS = 100_000
REPEATS = 5
SETTLE_DEADLINE_S = 300.0
PROBE_INTERVAL_S = 0.005
GOAL_S = 1.0
GOAL_HOLD_MS = 50.0


@dataclass(slots=True)
class AmapiResult:
    """One target answering GET /api/v2/alerts; ``error`` instead of figures if it failed."""

    target: str
    alerts: int
    error: str | None = None
    settle_s: float = 0.0
    shown: int = 0  # alerts in the last answer
    body_bytes: int = 0
    first_byte_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    health_max_ms: float = 0.0  # longest /-/healthy answer while the GETs ran
    health_first_ms: float = 0.0  # the same during the first GET only
    health_rest_ms: float = 0.0  # and during the others
    health_probes: int = 0

    @property
    def median_s(self) -> float:
        """The median of the whole-answer times."""
        return statistics.median(self.total_s) if self.total_s else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bench; returns 0 if every target was measured."""
    args = _parser().parse_args(argv)
    token = secrets.token_urlsafe(24)
    if args.nice is not None:  # the client and the health prober too
        _renice_group(os.getpid(), args.nice)
    results: list[AmapiResult] = []
    for target in args.targets or TARGETS:
        _say(f"amapi -> {target}: {args.alerts:,} open alerts, {args.repeats} GETs")
        results.append(measure(target, args.alerts, args.repeats, token, args.nice))
        if results[-1].error:
            _say(f"  FAILED: {results[-1].error}")
    print(render(results))
    report = {
        "finished_at": datetime.now(UTC).isoformat(),
        "alerts": args.alerts,
        "nice": args.nice,
        "results": [{**asdict(r), "median_s": r.median_s} for r in results],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({**_read_json(args.output), "amapi": report}, indent=2))
    _say(f"merged amapi results into {args.output}")
    return 1 if any(r.error for r in results) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench amapi", description=__doc__)
    parser.add_argument("--alerts", type=int, default=OPEN_ALERTS, help="open alerts to hold")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="GETs per target")
    parser.add_argument("--targets", action="append", choices=TARGETS, help="target (repeatable)")
    parser.add_argument(
        "--nice", type=int, default=None, help="niceness of the targets' scheduling groups"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="JSON file to merge the results into"
    )
    return parser


def measure(
    target: str, alerts: int, repeats: int, token: str, nice: int | None = None
) -> AmapiResult:
    """Deploys ``target``, makes it hold ``alerts`` open alerts, then times the GETs."""
    result = AmapiResult(target, alerts)
    deployed = target if target == REFERENCE else target + "-correlating"
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"tocsin-bench-amapi-{target}-") as tmp,
            deploy(deployed, Path(tmp), token) as deployment,
        ):
            if nice is not None:
                for process in (deployment.server, *deployment.helpers):
                    _renice_group(process.pid, nice)
            _post(deployment.base_url, alerts, token)
            posted = time.monotonic()
            _settle(result, deployment, posted)
            _time_gets(result, deployment.base_url, token, repeats)
    except (ServerError, RuntimeError, OSError) as exc:
        result.error = str(exc)
    return result


def _renice_group(pid: int, nice: int) -> None:
    """Sets the niceness of the process's scheduling group (Linux autogroup, its session)."""
    Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def _post(base_url: str, alerts: int, token: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", _port(base_url), timeout=60.0)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        for body in _bodies(alerts, datetime.now(UTC)):
            connection.request("POST", INGEST_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(f"POST got {response.status}: {answer[:300]!r}")
    finally:
        connection.close()


def _settle(result: AmapiResult, deployment: Deployment, posted: float) -> None:
    if deployment.target == REFERENCE:

        def active() -> bool:
            count = _metric(deployment.base_url, "alertmanager_alerts", 'state="active"')
            return count >= result.alerts

        _wait(active, "Alertmanager to report every alert active")
        result.settle_s = time.monotonic() - posted
        return
    reader = MetricsReader(deployment.base_url)
    try:
        last, caught_up = wait_until_caught_up(reader, posted, SETTLE_DEADLINE_S)
        if caught_up is None:
            lag = None if last is None else last.lag
            raise RuntimeError(f"the correlator was still {lag} entries behind")
        result.settle_s = caught_up
    finally:
        reader.close()


def _time_gets(result: AmapiResult, base_url: str, token: str, repeats: int) -> None:
    port = _port(base_url)
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    receiving, sending = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    prober = multiprocessing.Process(target=_probe_health, args=(port, stop, sending))
    prober.start()
    try:
        time.sleep(0.2)  # the prober's first answers, before the GETs
        windows: list[tuple[float, float]] = []
        for _ in range(repeats):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120.0)
            try:
                started = time.perf_counter()
                opened = time.monotonic()
                connection.request("GET", "/api/v2/alerts", headers=headers)
                response = connection.getresponse()
                result.first_byte_s.append(time.perf_counter() - started)
                body = response.read()
                result.total_s.append(time.perf_counter() - started)
                windows.append((opened, time.monotonic()))
            finally:
                connection.close()
            if response.status != 200:
                raise RuntimeError(f"GET got {response.status}: {body[:300]!r}")
            result.body_bytes = len(body)
            result.shown = len(json.loads(body))
    finally:
        stop.set()
        prober.join(timeout=10)
    probes: list[tuple[float, float]] = receiving.recv() if receiving.poll(5) else []
    result.health_probes = len(probes)
    result.health_max_ms = max((p[1] for p in probes), default=0.0) * 1000
    result.health_first_ms = _longest(probes, windows[:1])
    result.health_rest_ms = _longest(probes, windows[1:])


def _longest(probes: list[tuple[float, float]], windows: list[tuple[float, float]]) -> float:
    """The longest probe (ms) that overlapped one of the windows (monotonic seconds)."""
    return 1000 * max(
        (
            latency
            for sent, latency in probes
            if any(sent < end and sent + latency > start for start, end in windows)
        ),
        default=0.0,
    )


def _probe_health(
    port: int, stop: multiprocessing.synchronize.Event, out: multiprocessing.connection.Connection
) -> None:
    """Asks /-/healthy every PROBE_INTERVAL_S until ``stop``; sends (sent, latency) back."""
    probes: list[tuple[float, float]] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30.0)
    while not stop.is_set():
        sent = time.monotonic()
        connection.request("GET", "/-/healthy")
        connection.getresponse().read()
        probes.append((sent, time.monotonic() - sent))
        time.sleep(PROBE_INTERVAL_S)
    connection.close()
    out.send(probes)


def render(results: Sequence[AmapiResult]) -> str:
    """The table: per target, the GET's times, its size and the longest health answer."""
    header = (
        f"{'target':<16}{'alerts':>9}{'shown':>9}{'MB':>7}{'first byte':>12}{'first GET':>11}"
        f"{'median':>9}{'worst':>9}{'health 1st':>12}{'health rest':>13}{'settle s':>9}"
    )
    lines = [
        "",
        f"amapi: GET /api/v2/alerts, whole answer (goal for Tocsin: < {GOAL_S:g} s, "
        f"event loop held < {GOAL_HOLD_MS:g} ms)",
        header,
        "-" * len(header),
    ]
    for r in results:
        if r.error:
            lines.append(f"{r.target:<16}FAILED: {r.error.splitlines()[0]}")
            continue
        first = statistics.median(r.first_byte_s) if r.first_byte_s else 0.0
        lines.append(
            f"{r.target:<16}{r.alerts:>9,}{r.shown:>9,}{r.body_bytes / 1e6:>7.1f}"
            f"{first:>11.3f}s{r.total_s[0] if r.total_s else 0:>10.3f}s"
            f"{r.median_s:>8.3f}s{max(r.total_s, default=0):>8.3f}s"
            f"{r.health_first_ms:>10.1f}ms{r.health_rest_ms:>11.1f}ms{r.settle_s:>9.1f}"
        )
    lines.append(
        "first byte: median seconds to the status line; first GET / median / worst: seconds "
        "to the whole body (the first GET renders every alert; Tocsin keeps that for the "
        "next ones); health 1st / rest: the longest GET /-/healthy answer (asked every 5 ms) "
        "during the first GET / during the others"
    )
    return "\n".join(lines)


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


if __name__ == "__main__":
    sys.exit(main())
