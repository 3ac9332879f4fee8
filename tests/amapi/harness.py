"""A Tocsin app with rules that exercise the Alertmanager API: routes, a policy, muting.

Real SQLite, the correlator inline on a manual clock, real HTTP through aiohttp's client.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from core.timestamps import format_rfc3339
from tests.support import poll_until
from tocsin.app import create_app

RULES = """
sources:
  - name: prom
    kind: alertmanager_api
    auth:
      basic: {username: prometheus, password: {env: PROM_PASSWORD}}
  - name: hook
    kind: webhook
    auth: {bearer_token: {env: HOOK_TOKEN}}
api_keys:
  - {name: root, role: admin, key: {env: ADMIN_KEY}}
  - {name: ana, role: responder, key: {env: RESPONDER_KEY}}
  - {name: wallboard, role: viewer, key: {env: VIEWER_KEY}}
channels:
  - name: pager
    webhook: {url: "http://127.0.0.1:9/pager"}
escalation_policies:
  - name: db-oncall
    levels:
      - delay: 5m
        targets: [{channel: pager}]
route:
  group_by: [alertname]
  routes:
    - name: databases
      matchers: ['team="db"']
      policy: db-oncall
      continue: true
    - name: db-dashboards
      matchers: ['team="db"']
inhibit_rules:
  - name: node-down-mutes-disk
    source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname="DiskFull"']
    equal: [instance]
silences:
  - name: legacy
    matchers: ['instance="legacy:9100"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2030-01-01T00:00:00Z
    comment: legacy host is going away
  - matchers: ['instance="old:9100"']
    starts_at: 2026-01-01T00:00:00Z
    ends_at: 2030-01-01T00:00:00Z
    comment: old host too
"""

ENV = {
    "PROM_PASSWORD": "prom-secret",
    "HOOK_TOKEN": "hook-secret",
    "ADMIN_KEY": "admin-key",
    "RESPONDER_KEY": "responder-key",
    "VIEWER_KEY": "viewer-key",
}
VIEWER = {"Authorization": "Bearer viewer-key"}
RESPONDER = {"Authorization": "Bearer responder-key"}
PROM = {"Authorization": "Basic " + base64.b64encode(b"prometheus:prom-secret").decode()}
# A webhook source: its alerts have no end (/api/v2/alerts gives one: now + 5m).
HOOK = {"Authorization": "Bearer hook-secret"}
START = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header with basic credentials."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def at(offset: timedelta) -> str:
    """The RFC 3339 text of START + offset."""
    return format_rfc3339(START + offset)


@dataclass
class AmApi:
    """The client and clock of an app serving the test rules."""

    client: TestClient  # type: ignore[type-arg]
    clock: ManualClock

    async def post_alerts(self, *label_sets: dict[str, str]) -> None:
        """Posts firing alerts (an hour's end) as Prometheus does; insists on 200."""
        starts, ends = at(timedelta(0)), at(timedelta(hours=1))
        body = [{"labels": labels, "startsAt": starts, "endsAt": ends} for labels in label_sets]
        response = await self.client.post("/api/v2/alerts", json=body, headers=PROM)
        assert response.status == 200, await response.text()

    async def alerts(self, query: str = "", headers: dict[str, str] = VIEWER) -> Any:
        """GET /api/v2/alerts?query; insists on 200 and returns the JSON."""
        response = await self.client.get(f"/api/v2/alerts{query}", headers=headers)
        assert response.status == 200, await response.text()
        return await response.json()

    async def wait_for_alerts(self, count: int, query: str = "") -> list[dict[str, Any]]:
        """Polls until the correlator shows ``count`` open alerts (it runs beside the test)."""

        async def shown() -> list[dict[str, Any]] | None:
            alerts: list[dict[str, Any]] = await self.alerts(query)
            return alerts if len(alerts) == count else None

        return await poll_until(shown, deadline_seconds=10, interval=0.02)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for the test rules on a fresh SQLite file, the correlator inline."""
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    values: dict[str, object] = {
        "rules": rules,
        "store": f"sqlite://{tmp_path / 'tocsin.db'}",
        "correlator_mode": "inline",
        "correlator_poll_seconds": 0.02,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def start(
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    settings: Settings,
) -> AmApi:
    """Serves the app on a manual clock at START."""
    clock = ManualClock(START)
    app = create_app(settings, clock=clock, registry=CollectorRegistry(), env=ENV)
    return AmApi(await aiohttp_client(app), clock)
