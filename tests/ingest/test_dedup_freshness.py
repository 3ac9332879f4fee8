"""What a duplicate still carries: a later end (recorded beside the log), a missing start.

Through real HTTP on a real SQLite store, on the injected clock (issue 9 items 3, 8, 27).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.store import Store
from core.timestamps import format_rfc3339
from tests.app_harness import HOOK_AUTH, PROM_AUTH, START, Ingest
from tocsin.keys import STORE

STARTS = START - timedelta(minutes=10)
LABELS = {"alertname": "DiskFull", "instance": "db1"}


def prometheus(ends: datetime, **changes: Any) -> list[dict[str, Any]]:
    """One firing alert as Prometheus resends it: the same start, a later end each time."""
    alert = {
        "labels": LABELS,
        "annotations": {"summary": "disk full"},
        "startsAt": format_rfc3339(STARTS),
        "endsAt": format_rfc3339(ends),
        "generatorURL": "http://prometheus/graph",
    }
    alert.update(changes)
    return [alert]


def store_of(ingest: Ingest) -> Store:
    store: Store = ingest.client.app[STORE]
    return store


async def post(ingest: Ingest, path: str, body: object, auth: dict[str, str]) -> None:
    response = await ingest.client.post(path, json=body, headers=auth)
    assert response.status == 200, await response.text()


async def test_a_resend_whose_end_moved_later_records_that_end_without_a_log_write(
    ingest: Ingest,
) -> None:
    await post(ingest, "/api/v2/alerts", prometheus(START + timedelta(minutes=4)), PROM_AUTH)
    [first] = await ingest.stored()
    for minute in (1, 2):
        ingest.clock.advance(timedelta(minutes=1))
        ends = ingest.clock.now() + timedelta(minutes=4)
        await post(ingest, "/api/v2/alerts", prometheus(ends), PROM_AUTH)
        # Not written to the log (the resend benchmark's cheap path)...
        assert len(await ingest.stored()) == 1, minute
        # ...but the end the sender sent is durable, for the correlator's expiry.
        assert await store_of(ingest).latest_ends([first.fingerprint]) == {first.fingerprint: ends}
    assert ingest.metric("tocsin_alerts_deduplicated_total", source="prom") == 2


async def test_a_resend_with_the_same_or_an_earlier_end_writes_nothing(ingest: Ingest) -> None:
    ends = START + timedelta(minutes=4)
    await post(ingest, "/api/v2/alerts", prometheus(ends), PROM_AUTH)
    [first] = await ingest.stored()
    await post(ingest, "/api/v2/alerts", prometheus(ends), PROM_AUTH)
    await post(ingest, "/api/v2/alerts", prometheus(ends - timedelta(seconds=30)), PROM_AUTH)
    assert await store_of(ingest).latest_ends([first.fingerprint]) == {}
    assert len(await ingest.stored()) == 1


async def test_webhook_resends_without_a_start_keep_the_known_start_and_are_duplicates(
    ingest: Ingest,
) -> None:
    body = {"dedup_key": "backup-db1", "summary": "Nightly backup failed"}
    await post(ingest, "/ingest/webhook", body, HOOK_AUTH)
    for _ in range(2):
        ingest.clock.advance(timedelta(seconds=10))
        await post(ingest, "/ingest/webhook", body, HOOK_AUTH)
    [stored] = await ingest.stored()
    assert stored.starts_at == START
    assert ingest.metric("tocsin_alerts_deduplicated_total", source="hooks") == 2


async def test_api_resends_without_a_start_keep_the_known_start_and_are_duplicates(
    ingest: Ingest,
) -> None:
    body = [{"labels": LABELS, "annotations": {"summary": "disk full"}}]
    await post(ingest, "/api/v2/alerts", body, PROM_AUTH)
    ingest.clock.advance(timedelta(seconds=30))
    await post(ingest, "/api/v2/alerts", body, PROM_AUTH)
    # With an end but no start, Alertmanager's default start is the end: still merged.
    ingest.clock.advance(timedelta(seconds=30))
    ends = ingest.clock.now() + timedelta(minutes=5)
    await post(ingest, "/api/v2/alerts", [{**body[0], "endsAt": format_rfc3339(ends)}], PROM_AUTH)
    [stored] = await ingest.stored()
    assert stored.starts_at == START
    assert ingest.metric("tocsin_alerts_deduplicated_total", source="prom") == 2


async def test_after_a_resolve_a_start_less_alert_starts_anew(ingest: Ingest) -> None:
    body = {"dedup_key": "backup-db1", "summary": "Nightly backup failed"}
    await post(ingest, "/ingest/webhook", body, HOOK_AUTH)
    ingest.clock.advance(timedelta(seconds=10))
    await post(ingest, "/ingest/webhook", {**body, "status": "resolved"}, HOOK_AUTH)
    ingest.clock.advance(timedelta(seconds=10))
    await post(ingest, "/ingest/webhook", body, HOOK_AUTH)
    fired, _resolved, fired_again = await ingest.stored()
    assert fired_again.starts_at == ingest.clock.now() != fired.starts_at


async def test_a_start_given_by_the_sender_is_never_replaced(ingest: Ingest) -> None:
    ends = START + timedelta(minutes=4)
    await post(ingest, "/api/v2/alerts", prometheus(ends), PROM_AUTH)
    later = format_rfc3339(STARTS + timedelta(minutes=1))
    await post(ingest, "/api/v2/alerts", prometheus(ends, startsAt=later), PROM_AUTH)
    _first, second = await ingest.stored()
    assert second.starts_at == STARTS + timedelta(minutes=1)
