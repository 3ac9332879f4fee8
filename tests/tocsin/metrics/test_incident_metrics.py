"""Incident metrics from the event stream and the store, on SQLite and Redis."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.incident import Incident, IncidentEvent, IncidentState
from core.store import CorrelationCommit, GroupHead, Store, every_alert, incident_change
from core.store.events import StreamConflict
from tests.app_harness import Ingest
from tests.contract.builders import T0, make_incident
from tocsin.incident_metrics import GROUP, IncidentMetrics, IncidentMetricsFeed

MIN = timedelta(minutes=1)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def opened(store: Store, n: int, **changes: object) -> Incident:
    """Writes incident ``n`` (P2, service checkout) with its ``opened`` event."""
    incident = make_incident(n, **changes)
    event = IncidentEvent(incident.id, incident.opened_at, "correlate", "opened", {})
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
    store: Store, incident: Incident, kind: str, after: timedelta, **fields: object
) -> Incident:
    """Writes a person's change ``after`` the opening, with its timeline event."""
    changed = replace(incident, version=incident.version + 1, **fields)  # type: ignore[arg-type]
    at = incident.opened_at + after
    await store.commit(incident_change(changed, IncidentEvent(incident.id, at, "ana", kind, {})))
    return changed


def feed(store: Store) -> tuple[IncidentMetricsFeed, CollectorRegistry]:
    registry = CollectorRegistry()
    clock = ManualClock(T0)
    return IncidentMetricsFeed(store, IncidentMetrics(registry), clock, "member-1"), registry


async def drain(metrics_feed: IncidentMetricsFeed) -> None:
    while await metrics_feed.step():
        pass


async def test_acknowledge_and_resolve_are_observed_from_opening(store: Store) -> None:
    incident = await opened(store, 1)
    incident = await change(store, incident, "acknowledged", 3 * MIN,
                            state=IncidentState.ACKNOWLEDGED)  # fmt: skip
    await change(store, incident, "resolved", 40 * MIN, state=IncidentState.RESOLVED)
    metrics_feed, registry = feed(store)
    await drain(metrics_feed)
    labels = {"service": "checkout", "priority": "P2"}
    ack = "tocsin_incident_time_to_acknowledge_seconds"
    resolve = "tocsin_incident_time_to_resolve_seconds"
    assert sample(registry, f"{ack}_count", **labels) == 1
    assert sample(registry, f"{ack}_sum", **labels) == 180
    assert sample(registry, f"{resolve}_sum", **labels) == 2400
    # Within the 5m bucket, outside the 2m one.
    assert sample(registry, f"{ack}_bucket", le="300.0", **labels) == 1
    assert sample(registry, f"{ack}_bucket", le="120.0", **labels) == 0


async def test_a_second_acknowledgement_after_a_reopen_is_not_observed_again(
    store: Store,
) -> None:
    incident = await opened(store, 2)
    # (event, minutes after opening, state): acknowledged, resolved, reopened, acknowledged.
    steps = [
        ("acknowledged", 2, IncidentState.ACKNOWLEDGED),
        ("resolved", 10, IncidentState.RESOLVED),
        ("reopened", 20, IncidentState.TRIGGERED),
        ("acknowledged", 25, IncidentState.ACKNOWLEDGED),
    ]
    for kind, minutes, state in steps:
        incident = await change(store, incident, kind, minutes * MIN, state=state)
    metrics_feed, registry = feed(store)
    await drain(metrics_feed)
    name = "tocsin_incident_time_to_acknowledge_seconds"
    assert sample(registry, f"{name}_count", service="checkout", priority="P2") == 1
    assert sample(registry, f"{name}_sum", service="checkout", priority="P2") == 120


async def test_nothing_is_observed_twice_across_steps_and_feeds(store: Store) -> None:
    incident = await opened(store, 3)
    await change(store, incident, "acknowledged", MIN, state=IncidentState.ACKNOWLEDGED)
    first, registry = feed(store)
    await drain(first)
    assert await first.step() == 0
    # A new process of the same group starts after the cursor: nothing again.
    second, second_registry = feed(store)
    assert await second.step() == 0
    name = "tocsin_incident_time_to_acknowledge_seconds_count"
    assert sample(registry, name, service="checkout", priority="P2") == 1
    assert sample(second_registry, name, service="checkout", priority="P2") == 0


async def test_a_batch_another_member_committed_is_not_observed(store: Store) -> None:
    incident = await opened(store, 4)
    await change(store, incident, "acknowledged", MIN, state=IncidentState.ACKNOWLEDGED)
    metrics_feed, registry = feed(store)
    # Another member's commit moves the cursor between this member's claim and commit.
    batch = await store.claim_events(GROUP, "member-1", 500, now=T0, lease=timedelta(seconds=30))
    await store.commit_events(batch)
    real_claim = store.claim_events

    async def stale_claim(*args: object, **kwargs: object) -> object:
        return batch

    store.claim_events = stale_claim  # type: ignore[method-assign,assignment]
    with pytest.raises(StreamConflict):
        await metrics_feed.step()
    store.claim_events = real_claim  # type: ignore[method-assign]
    name = "tocsin_incident_time_to_acknowledge_seconds_count"
    assert sample(registry, name, service="checkout", priority="P2") == 0


async def test_open_incidents_are_counted_by_state_and_priority(store: Store) -> None:
    # (incident number, state, priority)
    cases = [
        (5, IncidentState.TRIGGERED, "P1"),
        (6, IncidentState.TRIGGERED, "P1"),
        (7, IncidentState.ACKNOWLEDGED, "P2"),
        (8, IncidentState.ON_HOLD, None),
        (9, IncidentState.RESOLVED, "P1"),  # not open: not counted
    ]
    for n, state, priority in cases:
        await opened(store, n, state=state, priority=priority)
    metrics_feed, registry = feed(store)
    await metrics_feed.count_open(["P1", "P2", "P3", "P4", "P5"])
    name = "tocsin_incidents_open"
    assert sample(registry, name, state="triggered", priority="P1") == 2
    assert sample(registry, name, state="acknowledged", priority="P2") == 1
    assert sample(registry, name, state="on_hold", priority="none") == 1
    assert sample(registry, name, state="resolved", priority="P1") == 0


async def test_the_server_exposes_the_metrics(ingest: Ingest) -> None:
    metrics = await (await ingest.client.get("/metrics")).text()
    assert "# TYPE tocsin_incident_time_to_acknowledge_seconds histogram" in metrics
    assert "# TYPE tocsin_incident_time_to_resolve_seconds histogram" in metrics
    assert "# TYPE tocsin_incidents_open gauge" in metrics
