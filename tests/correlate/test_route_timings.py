"""Correlation timings per route and category: a P1 route need not wait for the blip hold."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.incident import IncidentState
from core.model import AlertStatus
from core.store.sqlite import SQLiteStore
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert, load_test_rules, make_harness

RULES = """
route:
  group_by: [alertname, service]
  routes:
    - name: database
      matchers: ['service="db"']
      correlation:
        hold: {alerts: 0, duration: 0s}
    - name: web
      matchers: ['service="web"']
categories:
  - matchers: ['alertname="ProbeFailed"']
    category: synthetic-probe
    correlation:
      resolve_delay: 10m
  - matchers: ['alertname="CheckoutDown"']
    category: outage
    correlation:
      hold: {alerts: 0, duration: 0s}
"""
# Everywhere else incidents are held until three alerts fire, and resolve at once.
BASE = Tuning(resolve_delay=timedelta(0), hold_alerts=3)


def _harness(store: SQLiteStore, tmp_path: Path) -> Harness:
    return make_harness(store, load_test_rules(tmp_path, RULES), BASE)


async def test_a_route_that_lifts_the_hold_opens_unheld(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = _harness(sqlite_store, tmp_path)
    await harness.send(
        alert(T0, alertname="PostgresDown", service="db", instance="db1"),
        alert(T0, alertname="HighLatency", service="web", instance="web1"),
    )
    held = {i.route: i.held for i in await harness.incidents()}
    # The database route pages at once; the web route keeps the global hold.
    assert held == {"database": False, "web": True}


async def test_a_category_that_lifts_the_hold_wins_over_its_route(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = _harness(sqlite_store, tmp_path)
    await harness.send(alert(T0, alertname="CheckoutDown", service="web", instance="web1"))
    incident = await harness.only_incident()
    assert (incident.route, incident.category, incident.held) == ("web", "outage", False)


async def test_a_category_resolve_delay_keeps_its_incident_open(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = _harness(sqlite_store, tmp_path)
    probe = {"alertname": "ProbeFailed", "service": "db", "instance": "shop"}
    await harness.send(alert(T0, **probe))
    harness.advance(minutes=1)
    await harness.send(alert(harness.clock.now(), AlertStatus.RESOLVED, **probe))
    incident = await harness.only_incident()
    # The global delay is 0 (resolve at once); the category waits 10 minutes.
    assert incident.state is IncidentState.TRIGGERED
    assert incident.sweep_at == T0 + timedelta(minutes=11)
    harness.advance(minutes=9)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).state is IncidentState.TRIGGERED
    harness.advance(minutes=1)
    await harness.correlator.sweep()
    assert (await harness.only_incident()).state is IncidentState.RESOLVED


async def test_other_incidents_keep_the_global_timings(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = _harness(sqlite_store, tmp_path)
    disk = {"alertname": "DiskFull", "service": "db", "instance": "db1"}
    await harness.send(alert(T0, **disk))
    harness.advance(minutes=1)
    await harness.send(alert(harness.clock.now(), AlertStatus.RESOLVED, **disk))
    # No category delay: the global resolve_delay of 0 resolves it in the same step.
    assert (await harness.only_incident()).state is IncidentState.RESOLVED
