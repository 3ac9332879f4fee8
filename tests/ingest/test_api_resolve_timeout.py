"""POST /api/v2/alerts without ``endsAt`` ends at receipt + 5m unless resent (report item 3).

As Alertmanager 0.25's ``postAlertsHandler`` does with its ``global.resolve_timeout``
(5m by default): ``amtool alert add`` and the README's curl example send no end, and
their incidents must resolve by themselves. The real decoder, the real ingest write path
(duplicate filter, AlertEnds) and the correlator share a SQLite store and the injected
clock; the correlator steps and sweeps every 5 s of that clock.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from core.incident import Incident, IncidentState
from core.model import AlertStatus
from core.store.sqlite import SQLiteStore
from ingest.decode.alertmanager_api import RESOLVE_TIMEOUT, decode_alertmanager_api
from ingest.dedup import DuplicateFilter
from ingest.metrics import IngestMetrics
from ingest.service import IngestService
from rules.correlation import Tuning
from tests.app_harness import START, Ingest
from tests.correlate.harness import T0, Harness, load_test_rules, make_harness
from tests.support import require_binary

# What `amtool alert add alertname=Test severity=info` posts: labels, no times.
AMTOOL_ADD = [{"labels": {"alertname": "Test", "severity": "info"}, "annotations": {}}]
SWEEP = timedelta(seconds=5)


@dataclass
class Pipeline:
    """The /api/v2/alerts decoder, ingest and the correlator on one store and clock."""

    harness: Harness
    ingest: IngestService

    async def post(self, body: object) -> None:
        """Decodes and stores a body as the endpoint does, at the clock's time."""
        now = self.harness.clock.now()
        decoded = decode_alertmanager_api(body, "prometheus", now)
        assert not decoded.problems
        await self.ingest.store("prometheus", decoded.alerts, now)

    async def run_for(self, delta: timedelta) -> Incident:
        """Steps and sweeps every 5 s of the clock for ``delta``; returns the one incident."""
        clock = self.harness.clock
        until = clock.now() + delta
        while clock.now() < until:
            clock.set(min(clock.now() + SWEEP, until))
            await self.harness.correlator.drain()
            await self.harness.correlator.sweep()
        return await self.harness.only_incident()


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    store = SQLiteStore(tmp_path / "tocsin.db")
    await store.open()
    # Resolve delay 0: the incident resolves in the sweep that expires its alert.
    harness = make_harness(store, load_test_rules(tmp_path), Tuning(resolve_delay=timedelta(0)))
    ingest = IngestService(
        store,
        DuplicateFilter(timedelta(seconds=300), capacity=1000),
        IngestMetrics(CollectorRegistry()),
    )
    yield Pipeline(harness, ingest)
    await store.close()


def test_an_alert_without_ends_at_ends_five_minutes_after_receipt() -> None:
    decoded = decode_alertmanager_api(AMTOOL_ADD, "prometheus", T0)
    [alert] = decoded.alerts
    assert timedelta(minutes=5) == RESOLVE_TIMEOUT
    assert alert.status is AlertStatus.FIRING
    assert alert.starts_at == T0
    assert alert.ends_at == T0 + timedelta(minutes=5)


async def test_a_one_off_post_resolves_by_itself_after_the_resolve_timeout(
    pipeline: Pipeline,
) -> None:
    await pipeline.post(AMTOOL_ADD)
    incident = await pipeline.run_for(RESOLVE_TIMEOUT - SWEEP)
    assert incident.state is IncidentState.TRIGGERED
    incident = await pipeline.run_for(SWEEP)
    assert incident.state is IncidentState.RESOLVED
    [alert] = incident.alerts.values()
    assert alert.expired
    assert alert.transitions[-1] == T0 + RESOLVE_TIMEOUT  # expired as of the end it was given
    assert "alert_expired" in await pipeline.harness.timeline(incident)


async def test_a_resend_before_the_end_keeps_it_firing_until_five_minutes_after_the_last(
    pipeline: Pipeline,
) -> None:
    # Resent every 4 minutes for 20 minutes, each before the previous end passed.
    for _ in range(5):
        await pipeline.post(AMTOOL_ADD)
        incident = await pipeline.run_for(timedelta(minutes=4))
        assert incident.state is IncidentState.TRIGGERED
    last_sent = T0 + timedelta(minutes=16)
    assert "alert_expired" not in await pipeline.harness.timeline(incident)
    # Then the sender stops: it ends 5 minutes after the last send, not before.
    incident = await pipeline.run_for(
        last_sent + RESOLVE_TIMEOUT - SWEEP - pipeline.harness.clock.now()
    )
    assert incident.state is IncidentState.TRIGGERED
    incident = await pipeline.run_for(SWEEP)
    assert incident.state is IncidentState.RESOLVED
    [alert] = incident.alerts.values()
    assert alert.transitions[-1] == last_sent + RESOLVE_TIMEOUT
    assert alert.starts_at == T0  # a resend without startsAt keeps the first start


async def test_amtool_alert_add_ends_five_minutes_after_receipt(
    ingest: Ingest, tmp_path: Path
) -> None:
    # Debian's amtool (Alertmanager 0.25) sends Go's zero time as both startsAt and endsAt.
    amtool = require_binary("amtool", "prometheus-alertmanager")
    url = f"http://prometheus:prom-secret@127.0.0.1:{ingest.client.port}"
    process = await asyncio.create_subprocess_exec(
        *(amtool, f"--alertmanager.url={url}", "alert", "add", "alertname=Test", "severity=info"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HOME": str(tmp_path)},  # no amtool.yml of the machine's user
    )
    _, errors = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, errors.decode()
    [alert] = await ingest.stored()
    assert alert.labels == {"alertname": "Test", "severity": "info"}
    assert (alert.status, alert.starts_at) == (AlertStatus.FIRING, START)
    assert alert.ends_at == START + RESOLVE_TIMEOUT
