"""Runs wrk with a workload script and parses the JSON line its ``done()`` prints."""

from __future__ import annotations

import json
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import die_with_parent

WRK = "/usr/bin/wrk"
_MARKER = "WRK_JSON "
# wrk stops at --duration; this is only for a wrk that hangs.
_GRACE_SECONDS = 30.0


class WrkError(RuntimeError):
    """wrk failed, hung, or printed no summary."""


@dataclass(frozen=True, slots=True)
class WrkResult:
    """What one wrk run measured. Latencies are milliseconds, wrk's closed-loop view."""

    duration_s: float
    requests: int
    status_counts: dict[int, int]
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    cpu_s: float

    @property
    def ok_requests(self) -> int:
        """Responses with a 2xx status."""
        return sum(n for code, n in self.status_counts.items() if 200 <= code < 300)

    @property
    def non_2xx(self) -> int:
        """Responses that arrived with any status other than 2xx."""
        return self.requests - self.ok_requests

    @property
    def failed_requests(self) -> int:
        """Connect, read and write errors and timeouts (no response at all)."""
        return sum(self.socket_errors.values())


def run_wrk(
    url: str,
    script: Path,
    *,
    duration_s: float,
    connections: int,
    threads: int,
    timeout_s: float,
) -> WrkResult:
    """Runs ``wrk`` against ``url`` with ``script`` and returns its parsed summary."""
    command = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(script),
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration_s + timeout_s + _GRACE_SECONDS,
            check=False,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish within {time.monotonic() - started:.0f}s") from exc
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return parse_summary(done.stdout, cpu_s)


def parse_summary(output: str, cpu_s: float = 0.0) -> WrkResult:
    """Parses the ``WRK_JSON {...}`` line of wrk's output."""
    for line in output.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            break
    else:
        raise WrkError(f"wrk printed no summary; its output was:\n{output}")
    latency = data["latency_us"]
    latency_ms = {
        "min": latency["min"] / 1000,
        "mean": latency["mean"] / 1000,
        "max": latency["max"] / 1000,
        **{f"p{p}": us / 1000 for p, us in latency["percentiles"].items()},
    }
    return WrkResult(
        duration_s=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        status_counts={int(code): int(n) for code, n in data["status"].items()},
        socket_errors={k: int(v) for k, v in data["errors"].items() if k != "status"},
        latency_ms=latency_ms,
        cpu_s=cpu_s,
    )
