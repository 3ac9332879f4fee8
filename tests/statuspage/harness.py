"""Writes internal incidents and their changes as correlation and people do, for the writer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident, IncidentEvent, IncidentState
from core.settings import Settings
from core.store import CorrelationCommit, GroupHead, Store, every_alert, incident_change
from rules.model import Rules
from statuspage.records import EVERYTHING, INCIDENTS, IncidentRecord
from statuspage.writer import Changes, StatusWriter
from tests.app_harness import ENV, START
from tests.contract.builders import make_incident
from tocsin.app import create_app


async def opened(store: Store, n: int, at: datetime, **changes: object) -> Incident:
    """Writes internal incident ``n`` opened at ``at`` (default: P1 on checkout, public)."""
    fields: dict[str, object] = {
        "opened_at": at,
        "priority": "P1",
        "components": ("checkout",),
        "public": True,
        "category": "outage",
    }
    fields.update(changes)
    incident = make_incident(n, **fields)
    event = IncidentEvent(incident.id, at, "correlate", "opened", {})
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=(event,),
            alerts=every_alert(incident),
        )
    )
    return incident


async def change(
    store: Store, incident: Incident, kind: str, at: datetime, state: IncidentState
) -> Incident:
    """Writes a person's change of state at ``at``, with its timeline event."""
    changed = replace(incident, version=incident.version + 1, state=state)
    await store.commit(incident_change(changed, IncidentEvent(incident.id, at, "ana", kind, {})))
    return changed


def writer(store: Store, rules: Rules, clock: ManualClock, member: str = "m1") -> StatusWriter:
    """A writer of the test page on ``store``, at the clock's time."""
    return StatusWriter(store, lambda: rules, clock, member, lease=timedelta(seconds=30))


async def drain(status: StatusWriter) -> Changes:
    """Steps until nothing is left; returns everything changed on the way."""
    incidents: set[str] = set()
    components: set[str] = set()
    maintenances: set[str] = set()
    for _ in range(50):
        changes = await status.step()
        assert changes is not None, "the writer did not hold the lease"
        if not changes:
            break
        incidents |= changes.incidents
        components |= changes.components
        maintenances |= changes.maintenances
    return Changes(frozenset(incidents), frozenset(components), frozenset(maintenances))


async def public_incidents(store: Store) -> list[IncidentRecord]:
    """Every stored public incident, newest first."""
    found = await store.due_documents(INCIDENTS, EVERYTHING, 1000)
    return [IncidentRecord.decode(raw) for _, raw in found]


async def page_app(
    request: pytest.FixtureRequest,
    aiohttp_client: Callable[..., Awaitable[TestClient]],  # type: ignore[type-arg]
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    rules_text: str,
    start: datetime = START,
) -> TestClient:  # type: ignore[type-arg]
    """The application with ``rules_text`` on the store ``request.param`` names ("sqlite"
    or "redis"), without a correlator, on a manual clock at ``start``."""
    rules = tmp_path / "status.yml"
    rules.write_text(rules_text)
    store: dict[str, object] = {}
    if request.param == "redis":
        store["store"] = request.getfixturevalue("redis_url")
    settings = make_settings(correlate=False, rules=rules, **store)
    app = create_app(settings, clock=ManualClock(start), registry=CollectorRegistry(), env=ENV)
    return await aiohttp_client(app)
