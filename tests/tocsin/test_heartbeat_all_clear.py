"""New-user report items 2 and 8: a heartbeat's all-clear keeps what HeartbeatMissing said.

The Watchdog's deliveries ping the heartbeat; when they stop, the sweep logs a firing
``HeartbeatMissing`` with a summary and the last ping; the next delivery logs Tocsin's
own all-clear. That resolve carries no start or annotations of its own: the incident
keeps the alert's start, summary and ``last_ping``, and the summary gives the interval
in the rules' syntax (``5m``, not ``0:05:00``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.model import AlertStatus
from core.settings import Settings
from core.store import IncidentQuery
from core.timestamps import format_rfc3339
from correlate.engine import Correlator
from correlate.metrics import CorrelatorMetrics
from rules.correlation import Tuning
from rules.loader import load_rules
from tests.app_harness import START
from tocsin.app import create_app
from tocsin.keys import STORE

RULES = """
sources:
  - name: alertmanager
    kind: alertmanager
    auth: {bearer_token: {env: AM_TOKEN}}
heartbeats:
  - name: prometheus-watchdog
    interval: 5m
    alert: {matchers: ['alertname="Watchdog"']}
"""
ENV = {"AM_TOKEN": "am-secret"}
WATCHDOG = {
    "version": "4",
    "status": "firing",
    "receiver": "tocsin",
    "groupKey": "{}:{}",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Watchdog", "severity": "none"},
            "annotations": {},
            "startsAt": "2026-11-27T15:09:11Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
        }
    ],
}


async def test_the_all_clear_keeps_the_missing_heartbeat_start_and_annotations(
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    clock = ManualClock(START)
    settings = Settings(
        rules=tmp_path / "rules.yml", store=f"sqlite://{tmp_path / 't.db'}", correlate=False
    )
    app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    store = client.app[STORE]
    rules = load_rules(tmp_path / "rules.yml", ENV)
    correlator = Correlator(
        store,
        lambda: rules,
        Tuning(resolve_delay=timedelta(0)),
        clock,
        CorrelatorMetrics(CollectorRegistry()),
    )

    async def deliver_watchdog() -> None:
        response = await client.post(
            "/ingest/alertmanager", json=WATCHDOG, headers={"Authorization": "Bearer am-secret"}
        )
        assert response.status == 200, await response.text()
        await correlator.drain()

    await deliver_watchdog()  # the first ping
    clock.advance(timedelta(minutes=6))
    await correlator.sweep()  # overdue: HeartbeatMissing fires
    await correlator.drain()
    [incident] = await store.list_incidents(IncidentQuery())
    [missing] = incident.alerts.values()
    assert missing.status is AlertStatus.FIRING
    said = {
        "summary": "HeartbeatMissing: no ping from prometheus-watchdog for 5m",
        "last_ping": format_rfc3339(START),
    }
    assert dict(missing.annotations) == said
    assert missing.starts_at == START + timedelta(minutes=5)

    clock.advance(timedelta(minutes=1))
    await deliver_watchdog()  # back: Tocsin logs the all-clear
    [incident] = await store.list_incidents(IncidentQuery())
    [cleared] = incident.alerts.values()
    assert cleared.status is AlertStatus.RESOLVED
    assert dict(cleared.annotations) == said
    assert cleared.starts_at == START + timedelta(minutes=5)
    assert cleared.ends_at == clock.now()
