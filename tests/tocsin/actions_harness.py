"""A server for the incident action tests: SQLite or a real redis-server, seeded incidents.

The rules add people and teams (for assign) to the test API keys; the correlator does not
run (``correlate=False``): each test writes what correlation would have written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from core.store.events import StreamEvent
from tests.app_harness import ENV, RESPONDER, RULES, START
from tests.contract.builders import make_incident
from tocsin.app import create_app
from tocsin.keys import STORE

Client = TestClient  # type: ignore[type-arg]

ACTION_RULES = (
    RULES
    + """
channels:
  - name: hook
    webhook: {url: "https://hooks.example/tocsin"}
people:
  - name: ana
    contacts: [{channel: hook, address: ana}]
  - name: ben
    contacts: [{channel: hook, address: ben}]
teams:
  - name: web
    members: [ana]
  - name: dba
    members: [ben]
"""
)


@dataclass
class Served:
    """The client, its store and clock, and what the tests need to drive them."""

    client: Client
    store: Store
    clock: ManualClock
    # Incident event stream events already seen by :meth:`stream`.
    seen: int = 0

    async def seed(self, *incidents: Incident) -> None:
        """Writes incidents as a correlation step would (each its group's head)."""
        await self.store.commit(
            CorrelationCommit(
                "test",
                incidents=incidents,
                heads=tuple(GroupHead(i.group_key, None, i.id) for i in incidents),
                alerts=every_alert(*incidents),
            )
        )

    async def post(
        self,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        """POSTs JSON (no body when None) with the responder key unless headers say else."""
        sent = dict(RESPONDER if headers is None else headers)
        if body is None:
            return await self.client.post(path, headers=sent)
        return await self.client.post(path, json=body, headers=sent)

    async def act(self, incident_id: str, action: str, body: object = None) -> dict[str, Any]:
        """Runs an action that must succeed; returns the answered incident."""
        response = await self.post(f"/api/v1/incidents/{incident_id}/{action}", body)
        assert response.status in (200, 201), await response.text()
        answer: dict[str, Any] = await response.json()
        return answer

    async def stream(self) -> list[StreamEvent]:
        """The incident event stream's events written since the last call."""
        batch = await self.store.claim_events(
            "tests", "m", 10_000, now=self.clock.now(), lease=timedelta(minutes=1)
        )
        await self.store.commit_events(batch)
        return list(batch.events)


async def serve(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    store_url: str | None,
) -> Served:
    """A server on SQLite (``store_url`` None) or on the given Redis, seeded with none."""
    rules = tmp_path / "action-rules.yml"
    rules.write_text(ACTION_RULES)
    overrides: dict[str, object] = {"rules": rules, "correlate": False}
    if store_url is not None:
        overrides["store"] = store_url
    clock = ManualClock(START)
    app = create_app(make_settings(**overrides), clock=clock, registry=CollectorRegistry(), env=ENV)
    client = await aiohttp_client(app)
    return Served(client, client.app[STORE], clock)


def incident(n: int, **changes: Any) -> Incident:
    """Incident ``n`` (tests.contract.builders), opened before the server's clock."""
    return make_incident(n, **changes)
