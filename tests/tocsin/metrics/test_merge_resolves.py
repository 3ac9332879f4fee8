"""A merge is the merged incident's resolution in the time-to-resolve histogram."""

from __future__ import annotations

from core.incident import IncidentState
from core.store import Store
from tests.tocsin.metrics.test_incident_metrics import MIN, change, drain, feed, opened, sample

RESOLVE = "tocsin_incident_time_to_resolve_seconds"
LABELS = {"service": "checkout", "priority": "P2"}


async def test_a_merge_is_observed_as_the_first_resolution(store: Store) -> None:
    source = await opened(store, 1)
    target = await opened(store, 2)
    # The merge resolves the source as a duplicate, 7 minutes after it opened.
    await change(
        store, source, "merged_into", 7 * MIN,
        state=IncidentState.RESOLVED, resolution_code="duplicate", merged_into=target.id,
    )  # fmt: skip
    metrics_feed, registry = feed(store)
    await drain(metrics_feed)
    assert sample(registry, f"{RESOLVE}_count", **LABELS) == 1
    assert sample(registry, f"{RESOLVE}_sum", **LABELS) == 420


async def test_a_resolution_after_a_merge_is_not_observed_again(store: Store) -> None:
    source = await opened(store, 3)
    target = await opened(store, 4)
    # (event, minutes after opening, state): merged, then reopened and resolved by hand.
    source = await change(
        store, source, "merged_into", 5 * MIN,
        state=IncidentState.RESOLVED, merged_into=target.id,
    )  # fmt: skip
    source = await change(store, source, "reopened", 8 * MIN, state=IncidentState.TRIGGERED)
    await change(store, source, "resolved", 20 * MIN, state=IncidentState.RESOLVED)
    metrics_feed, registry = feed(store)
    await drain(metrics_feed)
    assert sample(registry, f"{RESOLVE}_count", **LABELS) == 1
    assert sample(registry, f"{RESOLVE}_sum", **LABELS) == 300
