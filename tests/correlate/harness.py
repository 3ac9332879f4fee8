"""A correlator on a real store with small rules and a manual clock, fed through the alert log."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.fingerprint import labels_fingerprint
from core.incident import Incident, IncidentEvent
from core.model import Alert, AlertStatus
from core.store import IncidentQuery, Store
from correlate.engine import Correlator
from correlate.metrics import CorrelatorMetrics
from rules.correlation import Tuning
from rules.loader import load_rules
from rules.model import Rules

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday
# The default tuning but resolving at once, so tests see a resolve in the step that made it.
IMMEDIATE = Tuning(resolve_delay=timedelta(0))

RULES = """
channels:
  - name: hook
    webhook: {url: "https://hooks.example/tocsin"}
people:
  - name: ana
    contacts: [{channel: hook, address: ana}]
teams:
  - name: ops
    members: [ana]
escalation_policies:
  - name: ops
    levels:
      - delay: 5m
        targets: [{team: ops}]
services:
  - name: db
    display_name: Database
    team: ops
route:
  policy: ops
  group_by: [alertname, service]
  reopen_window: 1h
  routes:
    - name: db
      matchers: ['service="db"']
      group_by: [alertname]
categories:
  - name: db
    matchers: ['service="db"']
    category: database
    service: db
    impact: high
    urgency: medium
inhibit_rules:
  - name: cluster-down
    source_matchers: ['alertname="ClusterDown"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
heartbeats:
  - name: nightly-backup
    interval: 25h
    labels: {service: db, severity: critical}
maintenance_windows:
  - name: tuesday-batch
    matchers: ['service="batch"']
    time_zone: UTC
    weekly:
      - {days: [tue], from: "09:00", to: "12:00"}
"""


def load_test_rules(tmp: Path, text: str = RULES) -> Rules:
    """Writes and loads the rules."""
    path = tmp / "rules.yml"
    path.write_text(text)
    return load_rules(path, {})


def alert(
    now: datetime,
    status: AlertStatus = AlertStatus.FIRING,
    ends_at: datetime | None = None,
    **labels: str,
) -> Alert:
    """An alert as ingest would have logged it."""
    return Alert(
        source="test",
        fingerprint=labels_fingerprint(labels),
        labels=labels,
        annotations={"summary": "s"},
        status=status,
        starts_at=now,
        ends_at=ends_at if ends_at is not None or status is AlertStatus.FIRING else now,
        generator_url="",
        received_at=now,
    )


@dataclass
class Harness:
    """Sends alerts through the log and runs the correlator at the clock's time."""

    store: Store
    clock: ManualClock
    correlator: Correlator
    registry: CollectorRegistry

    async def send(self, *alerts: Alert) -> None:
        """Appends alerts to the log (as ingest does) and correlates everything pending."""
        now = self.clock.now()
        await self.store.append([replace(a, received_at=now) for a in alerts])
        await self.correlator.drain()

    async def incidents(self) -> list[Incident]:
        """Every incident, oldest first."""
        return list(reversed(await self.store.list_incidents(IncidentQuery(limit=10_000))))

    async def only_incident(self) -> Incident:
        """The one incident there must be."""
        incidents = await self.incidents()
        assert len(incidents) == 1, incidents
        return incidents[0]

    async def timeline(self, incident: Incident) -> list[str]:
        """The kinds of the incident's events, in order."""
        events: list[IncidentEvent] = await self.store.incident_events(incident.id)
        return [e.kind for e in events]

    def advance(self, **delta: float) -> None:
        """Moves the clock."""
        self.clock.advance(timedelta(**delta))


def make_harness(
    store: Store,
    rules: Rules,
    tuning: Tuning | None = None,
    member: str = "c1",
    batch_size: int = 500,
) -> Harness:
    """Builds a harness around an open store; ``batch_size`` is the correlator's first claim."""
    clock = ManualClock(T0)
    registry = CollectorRegistry()
    correlator = Correlator(
        store,
        lambda: rules,
        tuning or IMMEDIATE,
        clock,
        CorrelatorMetrics(registry),
        member=member,
        batch_size=batch_size,
    )
    return Harness(store, clock, correlator, registry)
