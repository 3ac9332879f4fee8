"""``python -m bench memory``: memory per open alert, Tocsin's correlator beside Alertmanager.

Each target gets the same N distinct firing alerts (the ingest bench's storm shape:
20 alertnames x 12 services, a new ``instance`` each; ``endsAt`` an hour ahead so that
none expires during the run), posted once to ``POST /api/v2/alerts`` in batches of 500,
one alertname after another (Tocsin groups by alertname here, so its 20 incidents
fill one at a time and then go quiet, as incidents pile up over a day):

- ``alertmanager``: Alertmanager 0.25, which keeps every active alert in memory. Read
  after it reports N active alerts (``alertmanager_alerts{state="active"}``): its RSS
  and Go's ``go_memstats_heap_inuse_bytes``.
- ``tocsin-sqlite``, ``tocsin-redis``: ``tocsin serve`` with its correlator child, the
  deployment. Read after the child has correlated every alert: the child's RSS. The
  serve process's growth is shown beside it (its duplicate filter, bounded by
  ``--dedup-capacity``, and the Alertmanager API's rendered alerts, read once
  ``tocsin_amapi_rendered_alerts`` counts them all), but the figure compared is the
  correlator's.
- ``tocsin-sqlite-bounded``: the same with ``--correlator-cache-alerts`` at a quarter of
  N, to show the bound: past it the correlator keeps the incidents it used last and
  reads the others back from the store when their alerts come again.

Per open alert = (reading after - reading before the alerts) / N. The ratio divides a
Tocsin target's figure by Alertmanager's RSS figure; the target is under 0.5.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.pipeline import MetricsReader, wait_until_caught_up
from bench.servers import (
    Deployment,
    ServerError,
    child_pids,
    command_line,
    deploy,
    process_usage,
)
from bench.workloads import ALERTNAMES, INGEST_PATH
from bench.workloads import _alert as wire_alert

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
TARGETS = ("alertmanager", "tocsin-sqlite", "tocsin-redis", "tocsin-sqlite-bounded")
REFERENCE = "alertmanager"
MEMORY_ALERTS = 200_000
POST_BATCH = 500
# The alerts stay active through the run: Tocsin's sweep would expire them at endsAt.
ENDS_AFTER = timedelta(hours=1)
# Long enough for a loaded machine to correlate 200,000 alerts with a bounded cache.
SETTLE_DEADLINE_S = 300.0
# A moment for Go's collector and the correlator's last commit before reading.
QUIET_S = 2.0
RENDERED = "tocsin_amapi_rendered_alerts"


@dataclass(slots=True)
class MemoryResult:
    """One target holding N open alerts; ``error`` is set instead of figures if it failed."""

    target: str
    alerts: int
    error: str | None = None
    cache_alerts: int | None = None  # Tocsin's --correlator-cache-alerts (None: default)
    post_s: float = 0.0
    settle_s: float = 0.0  # from the last post until every alert was taken in
    rss_before_kb: int = 0  # Alertmanager, or Tocsin's correlator child
    rss_after_kb: int = 0
    peak_rss_kb: int = 0
    heap_inuse_before: int | None = None  # Alertmanager only, bytes
    heap_inuse_after: int | None = None
    serve_rss_before_kb: int | None = None  # Tocsin's serve process (ingest)
    serve_rss_after_kb: int | None = None

    @property
    def per_alert_bytes(self) -> float:
        """RSS growth per open alert."""
        return (self.rss_after_kb - self.rss_before_kb) * 1024 / self.alerts

    @property
    def heap_per_alert_bytes(self) -> float | None:
        """Go heap in use per open alert (Alertmanager)."""
        if self.heap_inuse_before is None or self.heap_inuse_after is None:
            return None
        return (self.heap_inuse_after - self.heap_inuse_before) / self.alerts

    @property
    def serve_per_alert_bytes(self) -> float | None:
        """RSS growth of Tocsin's serve process per alert."""
        if self.serve_rss_before_kb is None or self.serve_rss_after_kb is None:
            return None
        return (self.serve_rss_after_kb - self.serve_rss_before_kb) * 1024 / self.alerts


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the memory bench; returns 0 if every target was measured."""
    args = _parser().parse_args(argv)
    token = secrets.token_urlsafe(24)
    results: list[MemoryResult] = []
    for target in args.targets or TARGETS:
        _say(f"memory -> {target}: {args.alerts:,} open alerts")
        results.append(measure(target, args.alerts, token))
        if results[-1].error:
            _say(f"  FAILED: {results[-1].error}")
    print(render(results))
    report = {
        "finished_at": datetime.now(UTC).isoformat(),
        "alerts": args.alerts,
        "results": [
            {
                **asdict(r),
                "per_alert_bytes": r.per_alert_bytes,
                "heap_per_alert_bytes": r.heap_per_alert_bytes,
                "serve_per_alert_bytes": r.serve_per_alert_bytes,
            }
            for r in results
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({**_read_json(args.output), "memory": report}, indent=2))
    _say(f"merged memory results into {args.output}")
    return 1 if any(r.error for r in results) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--alerts", type=int, default=MEMORY_ALERTS, help="open alerts to hold")
    parser.add_argument("--targets", action="append", choices=TARGETS, help="target (repeatable)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help="JSON file to merge the results into"
    )
    return parser


def measure(target: str, alerts: int, token: str) -> MemoryResult:
    """Deploys ``target`` on a fresh store, makes it hold ``alerts`` open alerts, reads memory."""
    result = MemoryResult(target, alerts)
    env: dict[str, str] = {}
    if target.endswith("-bounded"):
        result.cache_alerts = alerts // 4
        env["TOCSIN_CORRELATOR_CACHE_ALERTS"] = str(result.cache_alerts)
    deployed = REFERENCE if target == REFERENCE else target.removesuffix("-bounded")
    try:
        with tempfile.TemporaryDirectory(prefix=f"tocsin-bench-memory-{target}-") as tmp:
            if deployed == REFERENCE:
                with deploy(REFERENCE, Path(tmp), token) as deployment:
                    _alertmanager(result, deployment, token)
            else:
                correlating = deployed + "-correlating"
                with deploy(correlating, Path(tmp), token, tocsin_env=env) as deployment:
                    _tocsin(result, deployment, token)
    except (ServerError, RuntimeError, OSError) as exc:
        result.error = str(exc)
    return result


def _alertmanager(result: MemoryResult, deployment: Deployment, token: str) -> None:
    pid = deployment.server.pid
    time.sleep(QUIET_S)
    result.heap_inuse_before = int(_metric(deployment.base_url, "go_memstats_heap_inuse_bytes"))
    result.rss_before_kb = process_usage(pid).rss_kb
    _post_all(result, deployment.base_url, token)
    posted = time.monotonic()

    def active() -> bool:
        count = _metric(deployment.base_url, "alertmanager_alerts", 'state="active"')
        return count >= result.alerts

    _wait(active, "Alertmanager to report every alert active")
    result.settle_s = time.monotonic() - posted
    time.sleep(QUIET_S)
    result.heap_inuse_after = int(_metric(deployment.base_url, "go_memstats_heap_inuse_bytes"))
    usage = process_usage(pid)
    result.rss_after_kb, result.peak_rss_kb = usage.rss_kb, usage.peak_rss_kb


def _tocsin(result: MemoryResult, deployment: Deployment, token: str) -> None:
    serve = deployment.server.pid
    reader = MetricsReader(deployment.base_url)
    try:
        _wait(lambda: _correlator_reports(reader), "the correlator child to report")
        child = _correlator_pid(serve)
        time.sleep(QUIET_S)
        result.rss_before_kb = process_usage(child).rss_kb
        result.serve_rss_before_kb = process_usage(serve).rss_kb
        _post_all(result, deployment.base_url, token)
        posted = time.monotonic()
        last, caught_up = wait_until_caught_up(reader, posted, SETTLE_DEADLINE_S)
        if caught_up is None:
            lag = None if last is None else last.lag
            raise RuntimeError(f"the correlator was still {lag} entries behind")
        if last is not None and last.restarts:
            raise RuntimeError("the correlator child restarted during the run")
        result.settle_s = caught_up
        # serve keeps the Alertmanager API's rendered alerts (tocsin/amapi/warm.py):
        # read its RSS once they are all rendered.
        _wait(
            lambda: _metric(deployment.base_url, RENDERED) >= result.alerts,
            "serve to render every open alert for the Alertmanager API",
        )
        time.sleep(QUIET_S)
        usage = process_usage(child)
        result.rss_after_kb, result.peak_rss_kb = usage.rss_kb, usage.peak_rss_kb
        result.serve_rss_after_kb = process_usage(serve).rss_kb
    finally:
        reader.close()


def _correlator_reports(reader: MetricsReader) -> bool:
    sample = reader.sample()
    return sample is not None and sample.correlated is not None


def _correlator_pid(serve_pid: int) -> int:
    for pid in child_pids(serve_pid):
        if "correlate" in command_line(pid):
            return pid
    raise RuntimeError("tocsin serve has no correlator child")


def _post_all(result: MemoryResult, base_url: str, token: str) -> None:
    """Posts the N alerts in batches over one kept-alive connection; insists on 2xx."""
    port = int(base_url.rsplit(":", 1)[1])
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60.0)
    started = time.monotonic()
    try:
        for body in _bodies(result.alerts, datetime.now(UTC)):
            connection.request("POST", INGEST_PATH, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(f"POST got {response.status}: {answer[:300]!r}")
    finally:
        connection.close()
    result.post_s = time.monotonic() - started


def _bodies(alerts: int, now: datetime) -> Iterator[bytes]:
    ends = (now + ENDS_AFTER).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    numbers = list(group_after_group(alerts))
    for first in range(0, alerts, POST_BATCH):
        batch = []
        for n in numbers[first : first + POST_BATCH]:
            alert = wire_alert(n, f"mem-{n:07d}:9100", now)
            alert["endsAt"] = ends
            batch.append(alert)
        yield json.dumps(batch, separators=(",", ":")).encode()


def group_after_group(alerts: int) -> Iterator[int]:
    """The numbers of ``alerts`` storm alerts, one alertname (one incident) after another.

    Alert n of the storm shape has alertname n mod 20, and Tocsin's default route groups
    by alertname: so incidents fill one at a time and then go quiet, as incidents pile
    up over a day, rather than all growing at every step (which keeps them all in use).
    """
    names = len(ALERTNAMES)
    per_name = -(-alerts // names)
    numbers = (k * names + name for name in range(names) for k in range(per_name))
    return itertools.islice(numbers, alerts)


def _metric(base_url: str, name: str, labels: str = "") -> float:
    """One sample of the text format at ``/metrics`` (0 if absent)."""
    port = int(base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10.0)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode(errors="replace")
    finally:
        connection.close()
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        if key.partition("{")[0] == name and labels in key:
            return float(value)
    return 0.0


def _wait(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {SETTLE_DEADLINE_S:g}s")
        time.sleep(0.2)


def render(results: Sequence[MemoryResult]) -> str:
    """The table, each Tocsin row with its ratio to Alertmanager's RSS per alert."""
    reference = next((r for r in results if r.target == REFERENCE and not r.error), None)
    header = (
        f"{'target':<22}{'alerts':>9}{'cache':>9}{'before':>9}{'after':>9}{'B/alert':>9}"
        f"{'heap B/alert':>13}{'serve B/alert':>14}{'x AM':>7}{'x heap':>7}{'settle s':>9}"
    )
    lines = [
        "",
        "memory: bytes per open alert (RSS growth / alerts; Tocsin: its correlator child)",
        header,
        "-" * len(header),
    ]
    for r in results:
        if r.error:
            lines.append(f"{r.target:<22}FAILED: {r.error.splitlines()[0]}")
            continue
        heap = r.heap_per_alert_bytes
        serve = r.serve_per_alert_bytes
        ratio = _ratio(r, reference, reference.per_alert_bytes if reference else None)
        heap_ratio = _ratio(r, reference, reference.heap_per_alert_bytes if reference else None)
        lines.append(
            f"{r.target:<22}{r.alerts:>9,}{_or_dash(r.cache_alerts):>9}"
            f"{r.rss_before_kb / 1024:>8.0f}M{r.rss_after_kb / 1024:>8.0f}M"
            f"{r.per_alert_bytes:>9,.0f}{_or_dash(heap):>13}{_or_dash(serve):>14}"
            f"{ratio:>7}{heap_ratio:>7}{r.settle_s:>9.1f}"
        )
    lines.append(
        "before/after = RSS of Alertmanager or of Tocsin's correlator child; heap = Go heap "
        "in use; serve = Tocsin's serve process (duplicate filter, API's rendered alerts); "
        "x AM = B/alert over Alertmanager's (target < 0.5); "
        "x heap = over Alertmanager's heap B/alert"
    )
    return "\n".join(lines)


def _ratio(result: MemoryResult, reference: MemoryResult | None, per_alert: float | None) -> str:
    if reference is None or result is reference or not per_alert:
        return "-"
    return f"{result.per_alert_bytes / per_alert:.2f}"


def _or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _say(message: str) -> None:
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
