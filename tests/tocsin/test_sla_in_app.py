"""`tocsin serve` keeps SLA clocks: a warning and a breach reach the manager the rules
name, as signed webhook pages at a real local receiver, each once, counted in /metrics
(both stores; the clock is a manual one at the real time, see test_paging_in_app)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.settings import Settings
from tests.app_harness import AM_AUTH, ENV, RULES, VIEWER
from tests.ingest.payloads import A1_FIRING
from tests.support import poll_until
from tests.tocsin.test_paging_in_app import PUBLIC, SECRET, Client, Receiver, Serve
from tocsin.app import create_app

SLA_RULES = """
channels:
  - name: hook
    webhook:
      url: {url}
      signing_secret: {{file: signing-secret}}
      timeout: 5s
people:
  - name: ann
    contacts: [{{channel: hook, address: ann@example.org}}]
  - name: boss
    contacts: [{{channel: hook, address: boss@example.org}}]
escalation_policies:
  - name: db
    levels: [{{delay: 1h, targets: [{{person: ann}}]}}]
route:
  policy: db
  group_by: [alertname]
  group_wait: 0s
priority:
  sla:
    P5: {{acknowledge: {{within: 2m, warn_at: [1m]}}, resolve: 1h}}
  sla_escalation: {{hierarchical: boss, on_warning: [hierarchical]}}
"""


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def sla_app(
    request: pytest.FixtureRequest, tmp_path: Path, aiohttp_server: Serve, aiohttp_client: Client
) -> tuple[TestClient, Receiver, ManualClock, CollectorRegistry]:  # type: ignore[type-arg]
    """The application with SLA escalation to ``boss``, paging a receiver."""
    receiver = Receiver()
    receiver.gate.set()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    server = await aiohttp_server(app)
    (tmp_path / "signing-secret").write_text(SECRET)
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES + SLA_RULES.format(url=server.make_url("/hook")))
    store = (
        f"sqlite://{tmp_path / 'tocsin.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    settings = Settings(rules=rules, store=store, correlator_mode="inline", public_url=PUBLIC)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    registry = CollectorRegistry()
    tocsin = create_app(settings, clock=clock, registry=registry, env=ENV)
    return await aiohttp_client(tocsin), receiver, clock, registry


async def test_a_warning_and_a_breach_page_the_manager_once(
    sla_app: tuple[TestClient, Receiver, ManualClock, CollectorRegistry],  # type: ignore[type-arg]
) -> None:
    client, receiver, clock, registry = sla_app
    start = clock.now()
    response = await client.post("/ingest/alertmanager", json=A1_FIRING, headers=AM_AUTH)
    assert response.status == 200

    def sla_pages(count: int) -> Any:
        async def found() -> list[dict[str, Any]] | None:
            pages = [p for p in receiver.pages if p["type"] == "incident.sla"]
            return pages if len(pages) >= count else None

        return found

    async def policy_paged() -> bool | None:
        return True if receiver.pages else None

    await poll_until(policy_paged, deadline_seconds=20, interval=0.02)  # ann, level 1
    clock.set(start + timedelta(minutes=1, seconds=1))
    [warning] = await poll_until(sla_pages(1), deadline_seconds=20, interval=0.02)
    assert (warning["page"]["person"], warning["sla"]["threshold"]) == ("boss", "warning-1m")
    clock.set(start + timedelta(minutes=2, seconds=1))
    pages = await poll_until(sla_pages(2), deadline_seconds=20, interval=0.02)
    assert [p["sla"]["threshold"] for p in pages] == ["warning-1m", "breach"]
    assert pages[1]["incident"]["title"].startswith("SLA time to acknowledge P5 breached: ")
    assert len(receiver.ids) == len(set(receiver.ids))  # each sent once

    def count(kind: str) -> float | None:
        labels = {"clock": "acknowledge", "kind": kind}
        return registry.get_sample_value("tocsin_sla_events_total", labels)

    assert (count("warning"), count("breach")) == (1.0, 1.0)
    incident = pages[1]["incident"]["id"]
    timeline = await client.get(
        f"/api/v1/incidents/{incident}", headers={"Authorization": "Bearer responder-key"}
    )
    kinds = [e["kind"] for e in (await timeline.json())["timeline"]]
    assert kinds.count("sla_warning") == kinds.count("sla_breached") == 1
    shown = await client.get(f"/api/v1/incidents/{incident}/sla", headers=VIEWER)
    assert shown.status == 200
    sla = await shown.json()
    assert (sla["cycle"], sla["priority"], sla["on_hold"]) == (1, "P5", False)
    assert [(c["clock"], c["status"]) for c in sla["clocks"]] == [
        ("acknowledge", "breached"),
        ("resolve", "running"),
    ]
    assert sla["clocks"][0]["handled"] == ["P5:warning-1m", "P5:breach"]
    missing = await client.get("/api/v1/incidents/nope/sla", headers=VIEWER)
    assert missing.status == 404
    anonymous = await client.get(f"/api/v1/incidents/{incident}/sla")
    assert anonymous.status == 401
