"""An application on real SQLite with test rules and a manual clock, behind a real HTTP client.

The fixtures are exposed in tests/conftest.py."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.model import Alert
from core.settings import Settings
from escalation.sla import ACTOR as SLA_ACTOR
from escalation.timeline import DELIVERY_ACTOR, STAGE_ACTOR
from tocsin.app import create_app
from tocsin.keys import STORE

RULES = """
sources:
  - name: am
    kind: alertmanager
    auth: {bearer_token: {env: AM_TOKEN}}
  - name: prom
    kind: alertmanager_api
    auth:
      basic: {username: prometheus, password: {env: PROM_PASSWORD}}
  - name: hooks
    kind: webhook
    auth: {bearer_token: {env: HOOK_TOKEN}}
    rate_limit: {alerts_per_second: 1, burst: 3}
  - name: pd
    kind: pagerduty
    routing_key: {env: PD_KEY}
api_keys:
  - name: root
    role: admin
    key: {env: ADMIN_KEY}
  - name: ana
    role: responder
    key: {env: RESPONDER_KEY}
  - name: wallboard
    role: viewer
    key: {env: VIEWER_KEY}
"""

ENV = {
    "AM_TOKEN": "am-secret",
    "PROM_PASSWORD": "prom-secret",
    "HOOK_TOKEN": "hook-secret",
    "PD_KEY": "0123456789abcdef0123456789abcdef",
    "ADMIN_KEY": "admin-key",
    "RESPONDER_KEY": "responder-key",
    "VIEWER_KEY": "viewer-key",
}
ADMIN = {"Authorization": "Bearer admin-key"}
RESPONDER = {"Authorization": "Bearer responder-key"}
VIEWER = {"Authorization": "Bearer viewer-key"}
AM_AUTH = {"Authorization": "Bearer am-secret"}
PROM_AUTH = {"Authorization": "Basic " + base64.b64encode(b"prometheus:prom-secret").decode()}
HOOK_AUTH = {"Authorization": "Bearer hook-secret"}
START = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)


@dataclass
class Ingest:
    """The client, the clock and a way to read back what the store holds."""

    client: TestClient  # type: ignore[type-arg]
    clock: ManualClock
    registry: CollectorRegistry

    async def stored(self) -> list[Alert]:
        """Returns every alert in the alert log, in order."""
        entries = await self.client.app[STORE].read(None, 100_000)
        return [e.alert for e in entries]

    def metric(self, name: str, **labels: str) -> float:
        """Returns a sample's value from the app's registry (0 when absent)."""
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def make_settings_fixture(tmp_path: Path) -> Callable[..., Settings]:
    """Builds settings around a rules file and a fresh SQLite file in tmp_path."""
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "rules": rules,
            "store": f"sqlite://{tmp_path / 'tocsin.db'}",
            # In the test's event loop, on the test's manual clock.
            "correlator_mode": "inline",
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


async def ingest_fixture(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    make_settings: Callable[..., Settings],
) -> Ingest:
    """A running application on SQLite with the test rules and a manual clock."""
    clock = ManualClock(START)
    registry = CollectorRegistry()
    app = create_app(
        make_settings(max_body_bytes=64 * 1024), clock=clock, registry=registry, env=ENV
    )
    return Ingest(await aiohttp_client(app), clock, registry)


# The actors of the paging stages' timeline notes: an app under test runs those stages in
# the background, so their notes may land between two reads of an incident.
STAGE_ACTORS = frozenset({STAGE_ACTOR, DELIVERY_ACTOR, SLA_ACTOR})


def without_stage_notes(detail: dict[str, Any]) -> dict[str, Any]:
    """An incident's detail without the paging stages' notes, and without the timeline's
    total, which counts them."""
    timeline = [e for e in detail["timeline"] if e["actor"] not in STAGE_ACTORS]
    page = {k: v for k, v in detail["timeline_page"].items() if k != "total"}
    return {**detail, "timeline": timeline, "timeline_page": page}
