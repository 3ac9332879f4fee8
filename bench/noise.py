"""A noisy alert timeline with known ground truth, for measuring correlation.

The timeline is what Prometheus would send over about 45 minutes, on a 10-second tick:

- five real **outages**, each a handful of hosts firing one alert of one service, a little
  apart, then resolving at the end of the outage;
- a **storm**: 500 hosts of one failing service start firing within one minute (one
  real outage);
- a **flapping** probe that fires and resolves every 30 s for 10 minutes (one real
  problem);
- a **silenced** service whose alerts match an operator silence that exists before the
  run (a real problem that must page nobody).

Every series is sent as Prometheus sends it: once when it starts firing, then again
every minute with ``endsAt`` = send time + 4 minutes; once when it resolves, then again
every minute for 15 minutes (Prometheus' resolved retention) unless it fires again. So
most of what arrives is duplicates, as in production.

The generator is seeded and deterministic: one seed, one timeline, one truth.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from core.silence import LabelMatcher, Silence

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TICK = timedelta(seconds=10)
RESEND = timedelta(minutes=1)  # Prometheus' resend delay
ENDS_AFTER = timedelta(minutes=4)  # endsAt of a firing alert, from the send
RESOLVED_RETENTION = timedelta(minutes=15)  # how long Prometheus resends a resolved alert
# Quiet time after the last send, for delayed resolves (flap hold-down) to happen.
TAIL = timedelta(minutes=10)
STORM_HOSTS = 500
SOURCE = "prometheus"

_OUTAGES = (
    ("HighLatency", "api"),
    ("DiskFull", "db"),
    ("ErrorRateHigh", "billing"),
    ("QueueBacklog", "queue"),
    ("ReplicationLag", "search"),
)
_STORM = ("TargetDown", "frontend")
_FLAPPING = ("ProbeFailed", "checkout")
_SILENCED = ("BackupFailed", "reports")


class ProblemKind(enum.StrEnum):
    """What kind of real problem a set of alerts is."""

    OUTAGE = "outage"
    STORM = "storm"
    FLAPPING = "flapping"
    SILENCED = "silenced"


@dataclass(frozen=True, slots=True)
class Series:
    """One label set (one fingerprint) and the intervals during which it fires."""

    labels: Mapping[str, str]
    fingerprint: str
    firing: tuple[tuple[datetime, datetime], ...]

    def firing_at(self, at: datetime) -> datetime | None:
        """Returns the start of the firing interval that holds ``at``, or None."""
        for start, end in self.firing:
            if start <= at < end:
                return start
        return None


@dataclass(frozen=True, slots=True)
class Problem:
    """One real problem: the truth the correlator's incidents are scored against.

    A perfect correlator opens exactly one incident for it and sends
    ``expected_notifications`` (1, or 0 for a silenced service).
    """

    name: str
    kind: ProblemKind
    series: tuple[Series, ...]
    expected_notifications: int

    @property
    def fingerprints(self) -> frozenset[str]:
        """The fingerprints of its alerts."""
        return frozenset(s.fingerprint for s in self.series)


@dataclass(frozen=True, slots=True)
class Tick:
    """What arrives at one instant: the alerts as ingest would log them, in order."""

    at: datetime
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class NoiseWorkload:
    """The timeline, its truth, and the operator silence to create before the run."""

    seed: int
    problems: tuple[Problem, ...]
    silence: Silence
    ticks: tuple[Tick, ...]

    @property
    def alerts_sent(self) -> int:
        """How many alerts the senders sent in all (duplicates included)."""
        return sum(len(t.alerts) for t in self.ticks)

    def sent_for(self, problem: Problem) -> int:
        """How many alerts were sent for one problem (duplicates included)."""
        fingerprints = problem.fingerprints
        return sum(1 for t in self.ticks for a in t.alerts if a.fingerprint in fingerprints)

    @property
    def duration(self) -> timedelta:
        """Simulated time from the first tick to the last."""
        return self.ticks[-1].at - self.ticks[0].at


def generate(seed: int = 1) -> NoiseWorkload:
    """Builds the timeline for ``seed``; the same seed always gives the same alerts."""
    rng = random.Random(seed)
    problems: list[Problem] = []
    for index, (alertname, service) in enumerate(_OUTAGES):
        start = T0 + timedelta(minutes=1 + 4 * index, seconds=_tick_seconds(rng, 60))
        length = timedelta(minutes=rng.randint(6, 14))
        hosts = rng.randint(3, 12)
        series = tuple(
            _series(
                alertname,
                service,
                f"{service}-{host:02d}",
                start + timedelta(seconds=_tick_seconds(rng, 90)),
                start + length + timedelta(seconds=_tick_seconds(rng, 60)),
            )
            for host in range(hosts)
        )
        problems.append(Problem(f"{alertname}/{service}", ProblemKind.OUTAGE, series, 1))
    problems.append(_storm(rng))
    problems.append(_flapping())
    problems.append(_silenced(rng))
    silence = Silence(
        id="bench-reports-maintenance",
        matchers=(LabelMatcher("service", "=", _SILENCED[1]),),
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(hours=3),
        created_by="bench",
        comment="reports rebuild, expected failures",
        created_at=T0 - timedelta(hours=1),
    )
    ticks = _send(tuple(s for p in problems for s in p.series))
    return NoiseWorkload(seed, tuple(problems), silence, ticks)


def _storm(rng: random.Random) -> Problem:
    alertname, service = _STORM
    start = T0 + timedelta(minutes=12)
    end = T0 + timedelta(minutes=20)
    series = tuple(
        _series(
            alertname,
            service,
            f"{service}-{host:03d}",
            start + timedelta(seconds=_tick_seconds(rng, 60)),
            end + timedelta(seconds=_tick_seconds(rng, 60)),
        )
        for host in range(STORM_HOSTS)
    )
    return Problem(f"{alertname}/{service}", ProblemKind.STORM, series, 1)


def _flapping() -> Problem:
    alertname, service = _FLAPPING
    start = T0 + timedelta(minutes=6)
    half = timedelta(seconds=30)
    # Fires for 30 s, resolved for 30 s, for 10 minutes: 10 firing intervals.
    intervals = tuple((start + 2 * k * half, start + (2 * k + 1) * half) for k in range(10))
    labels = _labels(alertname, service, f"{service}-probe")
    series = Series(labels, labels_fingerprint(labels), intervals)
    return Problem(f"{alertname}/{service}", ProblemKind.FLAPPING, (series,), 1)


def _silenced(rng: random.Random) -> Problem:
    alertname, service = _SILENCED
    start = T0 + timedelta(minutes=3)
    end = T0 + timedelta(minutes=13)
    series = tuple(
        _series(
            alertname,
            service,
            f"{service}-{host:02d}",
            start + timedelta(seconds=_tick_seconds(rng, 60)),
            end + timedelta(seconds=_tick_seconds(rng, 60)),
        )
        for host in range(4)
    )
    return Problem(f"{alertname}/{service}", ProblemKind.SILENCED, series, 0)


def _tick_seconds(rng: random.Random, below: int) -> int:
    """A random offset in [0, below) seconds, on the tick grid."""
    step = int(TICK.total_seconds())
    return rng.randrange(0, below, step)


def _labels(alertname: str, service: str, instance: str) -> dict[str, str]:
    return {
        "alertname": alertname,
        "instance": f"{instance}:9100",
        "job": "node",
        "severity": "critical",
        "service": service,
    }


def _series(alertname: str, service: str, instance: str, start: datetime, end: datetime) -> Series:
    labels = _labels(alertname, service, instance)
    return Series(labels, labels_fingerprint(labels), ((start, end),))


def _send(series: Sequence[Series]) -> tuple[Tick, ...]:
    """Simulates Prometheus' notifier for every series, tick by tick."""
    last_send = max(end for s in series for _, end in s.firing) + RESOLVED_RETENTION
    senders = [_Sender(s) for s in series]
    ticks: list[Tick] = []
    at = T0
    while at <= last_send + TAIL:
        alerts = [a for sender in senders if (a := sender.at(at)) is not None]
        ticks.append(Tick(at, tuple(alerts)))
        at += TICK
    return tuple(ticks)


class _Sender:
    """What Prometheus sends for one series: on each change, and every RESEND in between."""

    def __init__(self, series: Series) -> None:
        self._series = series
        self._started: datetime | None = None  # start of the current or last firing interval
        self._resolved_at: datetime | None = None
        self._last_sent: datetime | None = None

    def at(self, now: datetime) -> Alert | None:
        """Returns the alert sent at ``now``, or None."""
        started = self._series.firing_at(now)
        if started is not None:
            changed = started != self._started or self._resolved_at is not None
            self._started, self._resolved_at = started, None
            if changed or self._resend_due(now):
                return self._alert(now, AlertStatus.FIRING, started, now + ENDS_AFTER)
            return None
        if self._started is None:
            return None  # never fired yet
        if self._resolved_at is None:
            self._resolved_at = now
            return self._alert(now, AlertStatus.RESOLVED, self._started, now)
        if now - self._resolved_at < RESOLVED_RETENTION and self._resend_due(now):
            return self._alert(now, AlertStatus.RESOLVED, self._started, self._resolved_at)
        return None

    def _resend_due(self, now: datetime) -> bool:
        return self._last_sent is None or now - self._last_sent >= RESEND

    def _alert(
        self, now: datetime, status: AlertStatus, starts_at: datetime, ends_at: datetime
    ) -> Alert:
        self._last_sent = now
        labels = self._series.labels
        return Alert(
            source=SOURCE,
            fingerprint=self._series.fingerprint,
            labels=labels,
            annotations={"summary": f"{labels['alertname']} on {labels['instance']}"},
            status=status,
            starts_at=starts_at,
            ends_at=ends_at,
            generator_url=f"http://prometheus.bench:9090/graph?g0.expr={labels['alertname']}",
            received_at=now,
        )
