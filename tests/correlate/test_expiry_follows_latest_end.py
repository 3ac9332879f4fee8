"""A firing alert expires at the latest end its sender sent, never earlier (issue 9 items 3, 8).

Ingest (the real duplicate filter and write path) and the correlator share a real SQLite
store and the injected clock. A simulated Prometheus resends as the real one does: at
each rule evaluation ``ts`` it sends an alert when ``last_sent + resend_delay`` is before
``ts`` (strictly), with ``endsAt = ts + 4 * max(resend_delay, evaluation_interval)``,
and the sends arrive a little after the evaluation (network and queue jitter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from core.fingerprint import labels_fingerprint
from core.incident import IncidentState
from core.model import Alert, AlertStatus
from core.store import Store
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from ingest.dedup import DuplicateFilter
from ingest.metrics import IngestMetrics
from ingest.service import IngestService
from rules.correlation import Tuning
from tests.correlate.harness import Harness, load_test_rules, make_harness

LABELS = {"alertname": "DiskFull", "service": "api", "instance": "db1"}
FINGERPRINT = labels_fingerprint(LABELS)
SWEEP = timedelta(seconds=5)  # the correlator's default sweep period


@dataclass(frozen=True)
class Prometheus:
    """A rule evaluation interval, a resend delay, and how late its sends arrive."""

    evaluation: timedelta
    resend_delay: timedelta
    jitter: timedelta

    @property
    def valid_for(self) -> timedelta:
        """How far ahead of an evaluation the endsAt of a send lies."""
        return 4 * max(self.resend_delay, self.evaluation)

    def sends(self, start: datetime, until: datetime) -> Iterator[datetime]:
        """The evaluation instants at which Prometheus sends the alert."""
        last_sent: datetime | None = None
        ts = start
        while ts < until:
            if last_sent is None or last_sent + self.resend_delay < ts:
                last_sent = ts
                yield ts
            ts += self.evaluation


CASES = [
    # Prometheus' defaults: evaluation 1m, resend delay 1m (a send every other evaluation).
    pytest.param(
        Prometheus(timedelta(minutes=1), timedelta(minutes=1), timedelta(seconds=1)), id="defaults"
    ),
    # The extreme: resend delay equal to a short evaluation interval.
    pytest.param(
        Prometheus(timedelta(seconds=2), timedelta(seconds=2), timedelta(seconds=0.3)), id="2s"
    ),
    # A common setup: evaluation 15s, resend delay 1m.
    pytest.param(
        Prometheus(timedelta(seconds=15), timedelta(minutes=1), timedelta(seconds=1)), id="15s-1m"
    ),
    # Resend delay shorter than the evaluation: a send at every evaluation.
    pytest.param(
        Prometheus(timedelta(minutes=1), timedelta(seconds=2), timedelta(seconds=1)), id="1m-2s"
    ),
]


@dataclass
class Pipeline:
    """Ingest and the correlator on one store and clock."""

    harness: Harness
    ingest: IngestService

    async def receive(self, ts: datetime, ends: datetime) -> None:
        now = self.harness.clock.now()
        alert = Alert(
            source="prometheus",
            fingerprint=FINGERPRINT,
            labels=LABELS,
            annotations={"summary": "disk full"},
            status=AlertStatus.FIRING,
            starts_at=START,
            ends_at=ends,
            generator_url="http://prometheus/graph",
            received_at=now,
        )
        await self.ingest.store("prometheus", [alert], now)

    async def run_until(self, until: datetime) -> None:
        """Lets the correlator step and sweep every 5 s of the clock until ``until``."""
        clock = self.harness.clock
        while clock.now() + SWEEP <= until:
            clock.advance(SWEEP)
            await self.harness.correlator.drain()
            await self.harness.correlator.sweep()
        clock.set(until)
        await self.harness.correlator.drain()
        await self.harness.correlator.sweep()


START = datetime.fromisoformat("2026-11-24T10:00:00+00:00")


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def pipeline(
    request: pytest.FixtureRequest, sqlite_store: SQLiteStore, tmp_path: Path
) -> AsyncIterator[Pipeline]:
    """Ingest and the correlator on SQLite, or on Redis."""
    store: Store = sqlite_store
    if request.param == "redis":
        store = RedisStore(request.getfixturevalue("redis_url"))
        await store.open()
    # Resolve delay 0: an expiry would resolve the incident in the same sweep.
    harness = make_harness(store, load_test_rules(tmp_path), Tuning(resolve_delay=timedelta(0)))
    harness.clock.set(START)
    ingest = IngestService(
        store,
        DuplicateFilter(timedelta(seconds=300), capacity=1000),
        IngestMetrics(CollectorRegistry()),
    )
    yield Pipeline(harness, ingest)
    if store is not sqlite_store:
        await store.close()


@pytest.mark.parametrize("prometheus", CASES)
async def test_a_continuously_firing_alert_never_expires_and_expires_at_the_last_end_sent(
    pipeline: Pipeline, prometheus: Prometheus
) -> None:
    harness = pipeline.harness
    # Long enough for many refresh cycles of the duplicate filter, across every boundary.
    until = START + max(40 * prometheus.valid_for, timedelta(minutes=20))
    last_end = START
    sends = 0
    for ts in prometheus.sends(START, until):
        sends += 1
        await pipeline.run_until(ts + prometheus.jitter)
        last_end = ts + prometheus.valid_for
        await pipeline.receive(ts, last_end)
    await pipeline.run_until(until)
    incident = await harness.only_incident()
    assert incident.state is IncidentState.TRIGGERED
    assert "alert_expired" not in await harness.timeline(incident)
    # At most every other resend was logged (the duplicate filter's freshness refresh).
    assert len(await harness.store.read(None, 100_000)) <= sends // 2 + 1

    # The sender stops: the alert expires exactly at the last end it sent, not before.
    await pipeline.run_until(last_end - timedelta(seconds=1))
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED
    await pipeline.run_until(last_end + SWEEP)
    incident = await harness.only_incident()
    assert incident.state is IncidentState.RESOLVED
    assert incident.stale_resolved
    [alert] = incident.alerts.values()
    assert alert.expired
    assert alert.transitions[-1] == last_end  # expired as of the end that passed
