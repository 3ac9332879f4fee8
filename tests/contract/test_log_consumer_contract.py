"""The LogConsumer contract: claiming alert log entries, and consuming them by a commit."""

from __future__ import annotations

import pytest

from core.model import LogEntry
from core.store import CorrelationCommit, Store
from core.store.redis import RedisStore
from tests.contract.builders import StoreOpener, make_alert

GROUP = "correlate"


def fingerprints(entries: list[LogEntry]) -> list[str]:
    """Returns the fingerprints of the entries' alerts, in order."""
    return [entry.alert.fingerprint for entry in entries]


def alert_fingerprints(*numbers: int) -> list[str]:
    """Returns the fingerprints of make_alert's alerts with these numbers."""
    return [make_alert(n).fingerprint for n in numbers]


def consuming(entries: list[LogEntry]) -> CorrelationCommit:
    """Returns a commit that consumes the entries and changes nothing else."""
    return CorrelationCommit(GROUP, consumed=tuple(entry.cursor for entry in entries))


async def test_claim_of_empty_log_returns_nothing(store: Store) -> None:
    assert await store.claim(GROUP, "m1", 10) == []


async def test_claim_returns_at_most_limit_entries_oldest_first(store: Store) -> None:
    await store.append([make_alert(n) for n in range(5)])

    entries = await store.claim(GROUP, "m1", 3)

    assert fingerprints(entries) == alert_fingerprints(0, 1, 2)
    assert [entry.alert for entry in entries] == [make_alert(n) for n in range(3)]


async def test_claiming_again_without_a_commit_returns_the_same_entries(store: Store) -> None:
    await store.append([make_alert(n) for n in range(5)])
    first = await store.claim(GROUP, "m1", 3)

    again = await store.claim(GROUP, "m1", 3)

    assert again == first


async def test_consumed_entries_are_not_claimed_again(store: Store) -> None:
    await store.append([make_alert(n) for n in range(5)])
    entries = await store.claim(GROUP, "m1", 5)

    await store.commit(consuming(entries[:3]))
    rest = await store.claim(GROUP, "m1", 5)
    await store.commit(consuming(rest))
    after_all = await store.claim(GROUP, "m1", 5)
    await store.append([make_alert(5)])
    after_append = await store.claim(GROUP, "m1", 5)

    assert fingerprints(rest) == alert_fingerprints(3, 4)
    assert after_all == []
    assert fingerprints(after_append) == alert_fingerprints(5)


async def test_claim_after_a_batch_in_flight_returns_the_entries_after_it(
    store: Store,
) -> None:
    await store.append([make_alert(n) for n in range(7)])
    in_flight = await store.claim(GROUP, "m1", 3)

    following = await store.claim(GROUP, "m1", 3, after=in_flight[-1].cursor)
    await store.commit(consuming(in_flight))
    further = await store.claim(GROUP, "m1", 3, after=following[-1].cursor)

    assert fingerprints(following) == alert_fingerprints(3, 4, 5)
    assert fingerprints(further) == alert_fingerprints(6)


async def test_batches_claimed_after_one_that_fails_come_again_in_order(store: Store) -> None:
    # The batch in flight was not committed (its commit failed): a plain claim hands out
    # its entries again, then those claimed after it, none lost and none out of order.
    await store.append([make_alert(n) for n in range(6)])
    failed = await store.claim(GROUP, "m1", 2)
    following = await store.claim(GROUP, "m1", 2, after=failed[-1].cursor)

    again = await store.claim(GROUP, "m1", 10)

    assert fingerprints(following) == alert_fingerprints(2, 3)
    assert fingerprints(again)[:4] == alert_fingerprints(0, 1, 2, 3)


async def test_a_restarted_member_gets_its_unconsumed_entries_again(
    open_store: StoreOpener,
) -> None:
    first = await open_store()
    await first.append([make_alert(n) for n in range(5)])
    claimed = await first.claim(GROUP, "m1", 3)
    await first.commit(consuming(claimed[:2]))
    await first.close()

    second = await open_store()
    try:
        again = await second.claim(GROUP, "m1", 1)
    finally:
        await second.close()

    assert again == claimed[2:]


async def test_groups_consume_the_log_independently(store: Store) -> None:
    await store.append([make_alert(n) for n in range(3)])
    correlate = await store.claim(GROUP, "m1", 10)
    await store.commit(consuming(correlate))

    statuspage = await store.claim("statuspage", "m1", 10)

    assert fingerprints(statuspage) == alert_fingerprints(0, 1, 2)
    assert await store.claim(GROUP, "m1", 10) == []


# Several members per group exist on Redis only: SQLite allows one member per group.


@pytest.mark.redis
async def test_two_members_share_the_entries_without_overlap(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        await store.append([make_alert(n) for n in range(6)])
        first = await store.claim(GROUP, "m1", 3)
        second = await store.claim(GROUP, "m2", 3)
        # Each member holds its own entries until it commits them.
        first_again = await store.claim(GROUP, "m1", 10)
        second_again = await store.claim(GROUP, "m2", 10)
    finally:
        await store.close()

    assert fingerprints(first) == alert_fingerprints(0, 1, 2)
    assert fingerprints(second) == alert_fingerprints(3, 4, 5)
    assert first_again == first
    assert second_again == second


@pytest.mark.redis
async def test_entries_of_a_live_member_are_not_taken_over(redis_url: str) -> None:
    store = RedisStore(redis_url)
    await store.open()
    try:
        await store.append([make_alert(n) for n in range(3)])
        await store.claim(GROUP, "m1", 10)

        assert await store.claim(GROUP, "m2", 10) == []
    finally:
        await store.close()


@pytest.mark.redis
async def test_entries_a_dead_member_left_pending_are_taken_over(redis_url: str) -> None:
    # Idle time 0: every entry another member holds counts as abandoned, without waiting.
    store = RedisStore(redis_url, claim_idle_seconds=0)
    await store.open()
    try:
        await store.append([make_alert(n) for n in range(4)])
        abandoned = await store.claim(GROUP, "dead", 2)

        taken = await store.claim(GROUP, "alive", 10)
        await store.commit(consuming(taken))
        # The dead member comes back: what it held was taken over and consumed meanwhile.
        dead_again = await store.claim(GROUP, "dead", 10)
    finally:
        await store.close()

    assert taken == abandoned
    assert fingerprints(dead_again) == alert_fingerprints(2, 3)
