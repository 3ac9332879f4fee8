"""A heartbeat that expects an alert: every delivery of the Watchdog is a ping.

Prometheus' always-firing ``Watchdog`` reaches Tocsin through Alertmanager, unchanged, at
every ``repeat_interval``: duplicates must count, and the alert must not open an incident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.errors import RuleError
from core.model import AlertStatus
from core.settings import Settings
from core.timestamps import from_micros
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
  - name: blackbox-watchdog
    interval: 5m
    alert:
      matchers: ['alertname="BlackboxWatchdog"']
      consume: false
"""
AUTH = {"Authorization": "Bearer am-secret"}
CURSOR = "heartbeat:prometheus-watchdog"


def _notification(*alerts: tuple[str, str]) -> dict[str, Any]:
    """An Alertmanager webhook body carrying alerts given as (alertname, status)."""
    return {
        "version": "4",
        "status": "firing",
        "receiver": "tocsin",
        "groupKey": "{}:{}",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "severity": "none"},
                "annotations": {},
                "startsAt": "2026-11-27T15:09:11Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-28T15:09:11Z",
                "generatorURL": "",
            }
            for name, status in alerts
        ],
    }


@pytest.fixture
async def app_client(
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
) -> tuple[TestClient, ManualClock]:  # type: ignore[type-arg]
    (tmp_path / "rules.yml").write_text(RULES)
    clock = ManualClock(START)
    settings = Settings(
        rules=tmp_path / "rules.yml", store=f"sqlite://{tmp_path / 't.db'}", correlate=False
    )
    app = create_app(
        settings, clock=clock, registry=CollectorRegistry(), env={"AM_TOKEN": "am-secret"}
    )
    return await aiohttp_client(app), clock


async def _deliver(client: TestClient, *alerts: tuple[str, str]) -> None:  # type: ignore[type-arg]
    response = await client.post("/ingest/alertmanager", json=_notification(*alerts), headers=AUTH)
    assert response.status == 200, await response.text()


async def test_watchdog_delivery_pings_and_opens_no_incident_of_its_own(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, clock = app_client
    await _deliver(client, ("Watchdog", "firing"), ("DiskFull", "firing"))
    store = client.app[STORE]
    assert from_micros(int(await store.load_cursor(CURSOR) or 0)) == clock.now()
    logged = [entry.alert for entry in await store.read(None, 10)]
    # The first ping logs the all-clear of HeartbeatMissing; the Watchdog itself is consumed.
    assert sorted(a.labels["alertname"] for a in logged) == ["DiskFull", "HeartbeatMissing"]
    [all_clear] = [a for a in logged if a.labels["alertname"] == "HeartbeatMissing"]
    assert all_clear.status is AlertStatus.RESOLVED
    assert all_clear.labels["heartbeat"] == "prometheus-watchdog"


async def test_every_delivery_counts_even_an_unchanged_duplicate(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, clock = app_client
    for _ in range(3):
        await _deliver(client, ("Watchdog", "firing"))
        clock.advance(timedelta(minutes=4))
    last_delivery = clock.now() - timedelta(minutes=4)
    store = client.app[STORE]
    assert from_micros(int(await store.load_cursor(CURSOR) or 0)) == last_delivery
    # Only the first ping came after a gap: one all-clear, no Watchdog stored.
    assert len(await store.read(None, 10)) == 1


async def test_a_resolved_watchdog_is_consumed_but_is_no_ping(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, _ = app_client
    await _deliver(client, ("Watchdog", "resolved"))
    store = client.app[STORE]
    assert await store.load_cursor(CURSOR) is None
    assert await store.read(None, 10) == []


async def test_a_heartbeat_that_does_not_consume_leaves_the_alert_to_correlation(
    app_client: tuple[TestClient, ManualClock],
) -> None:  # type: ignore[type-arg]
    client, clock = app_client
    await _deliver(client, ("BlackboxWatchdog", "firing"))
    store = client.app[STORE]
    assert from_micros(int(await store.load_cursor("heartbeat:blackbox-watchdog") or 0)) == (
        clock.now()
    )
    names = sorted(entry.alert.labels["alertname"] for entry in await store.read(None, 10))
    assert names == ["BlackboxWatchdog", "HeartbeatMissing"]


@pytest.mark.parametrize(
    ("alert", "key", "message"),
    [
        # Matchers are required.
        ("{consume: true}", "heartbeats[0].alert", "matchers"),
        # An empty list would make every alert a ping.
        ("{matchers: []}", "heartbeats[0].alert.matchers", "at least one matcher"),
        # A misspelt key is named.
        ("{matchers: ['alertname=\"W\"'], consme: true}", "heartbeats[0].alert", "consme"),
        # Matchers use Alertmanager's syntax.
        ("{matchers: ['alertname']}", "heartbeats[0].alert.matchers[0]", "not a matcher"),
    ],
)
def test_heartbeat_alert_mistakes_are_named(
    tmp_path: Path, alert: str, key: str, message: str
) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(f"heartbeats:\n  - name: w\n    interval: 5m\n    alert: {alert}\n")
    with pytest.raises(RuleError) as caught:
        load_rules(path, env={})
    text = str(caught.value)
    assert key in text
    assert message in text
    assert "rules.yml:4" in text
