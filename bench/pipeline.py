"""Does the correlator keep up with ingest? Measured on a ``-correlating`` target, end to end.

The bench process reads the server's ``/metrics``: entries written to the alert log
(``tocsin_alerts_stored_total``, summed over sources) and entries correlated
(``tocsin_correlator_entries_total``, which the parent includes from its correlator
child). Their difference is the lag in entries. Before wrk starts, the bench waits until
the correlator has caught up with the warm-up; during the run a thread scrapes every
``SAMPLE_INTERVAL_S``; after wrk stops it polls every ``POLL_INTERVAL_S`` until the
correlator has caught up, or ``CATCH_UP_DEADLINE_S`` passed. One scrape costs the server
one small request, and the parent one more to its child over a UNIX socket.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from bench.servers import CORRELATING_SUFFIX

SAMPLE_INTERVAL_S = 0.5
POLL_INTERVAL_S = 0.1
CATCH_UP_DEADLINE_S = 60.0
# Entries in flight in the correlator's current step count as lag, so a correlator that
# keeps up still ends a run a little behind: under this, it keeps up.
KEEPS_UP_WITHIN_S = 1.0

_STORED = "tocsin_alerts_stored_total"
_CORRELATED = "tocsin_correlator_entries_total"
_RESTARTS = "tocsin_correlator_process_restarts_total"
_SCRAPE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One scrape: when it was answered (monotonic s) and the two counters then.

    ``correlated`` is None while the child's metrics cannot be read (starting, restarting).
    """

    at: float
    stored: int
    correlated: int | None
    restarts: int

    @property
    def lag(self) -> int | None:
        """Entries stored but not yet correlated."""
        return None if self.correlated is None else self.stored - self.correlated


@dataclass(slots=True)
class PipelineResult:
    """The correlator against ingest over one wrk run; counts are alert-log entries."""

    warmup_catch_up_s: float | None = None  # None: still behind the warm-up at the deadline
    stored: int = 0
    correlated: int = 0
    correlated_per_s: float = 0.0
    max_lag: int = 0
    end_lag: int = 0
    catch_up_s: float | None = None  # None: still behind CATCH_UP_DEADLINE_S after the run
    lag_at_deadline: int | None = None
    catch_up_per_s: float | None = None  # correlated/s after the run, ingest idle
    catch_up_cpu_s: float | None = None  # the correlator child's CPU during the catch-up
    restarts: int = 0  # correlator child restarts during the run and the catch-up
    samples: int = 0  # scrapes during the run that read both counters
    # (seconds since wrk started, stored, correlated) for every sample, for plots.
    timeline: list[tuple[float, int, int]] = field(default_factory=list)

    def verdict(self) -> str:
        """``keeps up``, or how long the correlator needed after ingest stopped."""
        if self.catch_up_s is None:
            return f"behind: {self.lag_at_deadline:,} left after {CATCH_UP_DEADLINE_S:g} s"
        if self.end_lag <= 0 or self.catch_up_s < KEEPS_UP_WITHIN_S:
            return "keeps up"
        return f"behind by {self.catch_up_s:.1f} s"


class MetricsReader:
    """Reads the two counters from a server's ``/metrics`` over one kept-alive connection."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._connection: http.client.HTTPConnection | None = None

    def sample(self) -> Sample | None:
        """Scrapes once; None if the server did not answer 200 in time."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self._host, self._port, timeout=_SCRAPE_TIMEOUT_S
            )
        try:
            self._connection.request("GET", "/metrics")
            response = self._connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # reconnect at the next scrape
            return None
        if response.status != 200:
            return None
        return parse(body, time.monotonic())

    def close(self) -> None:
        """Closes the connection; the next sample opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def parse(body: bytes, at: float) -> Sample:
    """Picks the stored, correlated and restart counters out of the text format."""
    stored = 0.0
    correlated: float | None = None
    restarts = 0.0
    for line in body.decode(errors="replace").splitlines():
        if not line.startswith("tocsin_"):
            continue
        name_and_labels, _, value = line.rpartition(" ")
        name = name_and_labels.partition("{")[0]
        if name == _STORED:
            stored += float(value)
        elif name == _CORRELATED:
            correlated = float(value)
        elif name == _RESTARTS:
            restarts = float(value)
    return Sample(at, int(stored), None if correlated is None else int(correlated), int(restarts))


@contextmanager
def sampling(reader: MetricsReader) -> Iterator[list[Sample]]:
    """Scrapes every SAMPLE_INTERVAL_S in a thread while the block runs; yields the list.

    The first scrape happens before the block starts; the thread stops when it ends.
    """
    samples: list[Sample] = []
    first = reader.sample()
    if first is not None:
        samples.append(first)
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(SAMPLE_INTERVAL_S):
            sample = reader.sample()
            if sample is not None:
                samples.append(sample)

    thread = threading.Thread(target=scrape, name="bench-metrics", daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def wait_until_caught_up(
    reader: MetricsReader, since: float, deadline_s: float = CATCH_UP_DEADLINE_S
) -> tuple[Sample | None, float | None]:
    """Polls until correlated >= stored; returns the last sample and the seconds since
    ``since`` (a monotonic time) at which it caught up, or None at the deadline."""
    last: Sample | None = None
    give_up = time.monotonic() + deadline_s
    while True:
        sample = reader.sample()
        if sample is not None:
            last = sample
            if sample.lag is not None and sample.lag <= 0:
                return last, sample.at - since
        if time.monotonic() >= give_up:
            return last, None
        time.sleep(POLL_INTERVAL_S)


def settle(reader: MetricsReader) -> float | None:
    """Waits until the correlator has caught up (with the warm-up); returns the seconds."""
    started = time.monotonic()
    return wait_until_caught_up(reader, started)[1]


def finish(
    result: PipelineResult,
    reader: MetricsReader,
    samples: Sequence[Sample],
    wrk_started: float,
    wrk_ended: float,
) -> None:
    """Scrapes once more now that wrk has stopped, waits for the catch-up, fills ``result``.

    ``samples`` are those of the run; ``wrk_started`` and ``wrk_ended`` are monotonic
    times, and the catch-up is counted from ``wrk_ended``.
    """
    end = reader.sample()
    readable = [s for s in (*samples, end) if s is not None and s.correlated is not None]
    if len(readable) < 2:
        raise RuntimeError("the correlator's metrics were not readable during the run")
    first, last = readable[0], readable[-1]
    assert first.correlated is not None
    assert last.correlated is not None
    result.samples = len(readable)
    result.stored = last.stored - first.stored
    result.correlated = last.correlated - first.correlated
    result.correlated_per_s = result.correlated / max(last.at - first.at, 1e-9)
    result.max_lag = max(s.lag or 0 for s in readable)
    result.end_lag = last.lag or 0
    result.timeline = [
        (round(s.at - wrk_started, 3), s.stored, s.correlated or 0) for s in readable
    ]
    caught, result.catch_up_s = (
        (last, 0.0) if result.end_lag <= 0 else wait_until_caught_up(reader, wrk_ended)
    )
    caught = caught or last
    result.restarts = caught.restarts - first.restarts
    if result.catch_up_s is None:
        result.lag_at_deadline = caught.lag
    elif caught.correlated is not None and caught.at > last.at:
        result.catch_up_per_s = (caught.correlated - last.correlated) / (caught.at - last.at)


class PipelineRun(Protocol):
    """What the pipeline table needs of one run."""

    @property
    def workload(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def alerts_per_s(self) -> float: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def correlator_cpu_s(self) -> float | None: ...
    @property
    def correlator_peak_rss_kb(self) -> int | None: ...
    @property
    def pipeline(self) -> PipelineResult | None: ...


def table(runs: Sequence[PipelineRun], target_width: int) -> str:
    """The pipeline table: one row per correlating run; empty if there was none."""
    rows = [r for r in runs if r.pipeline is not None or r.target.endswith(CORRELATING_SUFFIX)]
    if not rows:
        return ""
    header = (
        f"{'workload':<8} {'target':<{target_width}} {'alerts/s':>9} {'stored':>8} "
        f"{'corr/s':>8} {'max lag':>8} {'end lag':>8} {'catch-up s':>10} {'corr CPU':>8} "
        f"{'corr RSS':>8}  verdict"
    )
    lines = ["", "pipeline (correlator child against ingest):", header, "-" * len(header)]
    for r in rows:
        p = r.pipeline
        if r.error or p is None:
            lines.append(f"{r.workload:<8} {r.target:<{target_width}} FAILED")
            continue
        catch_up = "-" if p.catch_up_s is None else f"{p.catch_up_s:.1f}"
        cpu, rss = "-", "-"
        if r.correlator_cpu_s is not None and r.duration_s:
            cpu = f"{100 * r.correlator_cpu_s / r.duration_s:.0f}%"
        if r.correlator_peak_rss_kb is not None:
            rss = f"{r.correlator_peak_rss_kb / 1024:.0f} MiB"
        notes = f" (child restarted {p.restarts}x)" if p.restarts else ""
        if p.warmup_catch_up_s is None:
            notes += " (started behind the warm-up)"
        lines.append(
            f"{r.workload:<8} {r.target:<{target_width}} {r.alerts_per_s:>9,.0f} "
            f"{p.stored:>8,} {p.correlated_per_s:>8,.0f} {p.max_lag:>8,} {p.end_lag:>8,} "
            f"{catch_up:>10} {cpu:>8} {rss:>8}  {p.verdict()}{notes}"
        )
    lines.append(
        "stored = alert-log entries written during the run; lag = stored - correlated "
        f"(entries), sampled every {SAMPLE_INTERVAL_S:g} s; catch-up = s after wrk stopped "
        f"until lag 0; keeps up = catch-up < {KEEPS_UP_WITHIN_S:g} s"
    )
    return "\n".join(lines)
