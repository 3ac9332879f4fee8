"""The duplicate filter and the token bucket, driven by an injected clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.model import Alert, AlertStatus
from ingest.dedup import DuplicateFilter
from ingest.ratelimit import Admission, TokenBucket
from rules.model import RateLimit

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ALERT = Alert(
    source="s",
    fingerprint="f1",
    labels={"alertname": "A"},
    annotations={"summary": "x"},
    status=AlertStatus.FIRING,
    starts_at=NOW,
    ends_at=None,
    generator_url="",
    received_at=NOW,
)


async def written(filter_: DuplicateFilter, *alerts: Alert) -> asyncio.Future[None]:
    durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    filter_.remember(list(alerts), NOW, durable)
    return durable


async def settled(filter_: DuplicateFilter, alert: Alert) -> None:
    durable = await written(filter_, alert)
    durable.set_result(None)
    filter_.settled([alert], durable)


async def test_duplicate_waits_for_the_write_it_repeats_until_that_is_durable() -> None:
    filter_ = DuplicateFilter(timedelta(minutes=2), capacity=10)
    durable = await written(filter_, ALERT)
    assert filter_.check(ALERT, NOW) is durable
    durable.set_result(None)
    filter_.settled([ALERT], durable)
    assert filter_.check(ALERT, NOW) is False


async def test_every_change_that_matters_is_written() -> None:
    filter_ = DuplicateFilter(timedelta(minutes=2), capacity=10)
    await settled(filter_, ALERT)
    for changed in (
        replace(ALERT, status=AlertStatus.RESOLVED, ends_at=NOW),
        replace(ALERT, starts_at=NOW + timedelta(seconds=1)),
        replace(ALERT, annotations={"summary": "y"}),
        replace(ALERT, generator_url="http://x"),
        replace(ALERT, acknowledged=True),
    ):
        assert filter_.check(changed, NOW) is True, changed


async def test_a_moving_end_of_a_firing_alert_is_not_a_change() -> None:
    filter_ = DuplicateFilter(timedelta(minutes=2), capacity=10)
    await settled(filter_, replace(ALERT, ends_at=NOW + timedelta(minutes=4)))
    assert filter_.check(replace(ALERT, ends_at=NOW + timedelta(minutes=5)), NOW) is False


async def test_failed_write_is_forgotten_so_the_next_copy_is_written() -> None:
    filter_ = DuplicateFilter(timedelta(minutes=2), capacity=10)
    durable = await written(filter_, ALERT)
    filter_.forget([ALERT], durable)
    assert filter_.check(ALERT, NOW) is True


async def test_capacity_forgets_the_least_recently_written() -> None:
    filter_ = DuplicateFilter(timedelta(minutes=2), capacity=2)
    alerts = [replace(ALERT, fingerprint=f"f{i}") for i in range(3)]
    for alert in alerts:
        await settled(filter_, alert)
    assert len(filter_) == 2
    assert filter_.check(alerts[0], NOW) is True
    assert filter_.check(alerts[2], NOW) is False


def test_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(RateLimit(alerts_per_second=10, burst=20), NOW)
    assert bucket.take(20, NOW) == Admission(20)
    assert bucket.take(5, NOW) == Admission(0, 0.5)
    assert bucket.take(5, NOW + timedelta(seconds=0.5)) == Admission(5)
