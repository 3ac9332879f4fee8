"""Two correlators on one Redis: same incidents as one correlator, none duplicated, no update lost."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.model import Alert, AlertStatus
from core.store import IncidentQuery
from core.store.redis import RedisStore
from correlate.engine import Correlator
from correlate.metrics import CorrelatorMetrics
from rules.correlation import Tuning
from tests.correlate.harness import T0, alert, load_test_rules

pytestmark = pytest.mark.redis

Outcome = dict[str, tuple[int, bool, frozenset[tuple[str, str]]]]


def random_log(seed: int, events: int = 400) -> list[Alert]:
    """A seeded stream of fires and resolves over 6 groups of 8 alerts each."""
    rng = random.Random(seed)
    log = []
    for _ in range(events):
        status = AlertStatus.FIRING if rng.random() < 0.65 else AlertStatus.RESOLVED
        name = f"Alert{rng.randrange(6)}"
        log.append(
            alert(T0, status, alertname=name, service="api", instance=f"i{rng.randrange(8)}")
        )
    return log


async def correlate(
    url: str,
    prefix: str,
    log: list[Alert],
    members: int,
    tmp: Path,
    partitions: int = 4,
    lockstep: bool = False,
) -> tuple[Outcome, float]:
    """Appends the log, runs ``members`` correlators concurrently until all is consumed."""
    rules = load_test_rules(tmp)
    clock = ManualClock(T0)
    registry = CollectorRegistry()
    metrics = CorrelatorMetrics(registry)
    stores = [RedisStore(url, prefix=prefix) for _ in range(members)]
    for store in stores:
        await store.open()
    try:
        for start in range(0, len(log), 50):
            await stores[0].append(log[start : start + 50])
        correlators = [
            Correlator(
                store,
                lambda: rules,
                Tuning(),
                clock,
                metrics,
                member=f"m{i}",
                batch_size=7,
                partitions=partitions,
            )
            for i, store in enumerate(stores)
        ]

        # Every partition's group consumes every entry once.
        expected = len(log) * partitions
        consumed = 0

        async def run(correlator: Correlator) -> None:
            nonlocal consumed
            for _ in range(10_000):  # bounded; ends far sooner
                if consumed >= expected:
                    return
                # Await first: "consumed += await ..." would read consumed before the await
                # and lose the other member's additions.
                done = await correlator.step()
                consumed += done
                await asyncio.sleep(0)  # let the other member interleave

        if lockstep:
            # Members step side by side: both read the same incident, one commit loses.
            for _ in range(10_000):
                if consumed >= expected:
                    break
                consumed += sum(await asyncio.gather(*(c.step() for c in correlators)))
        else:
            await asyncio.gather(*(run(c) for c in correlators))
        assert consumed == expected
        incidents = await stores[0].list_incidents(IncidentQuery(limit=1000))
    finally:
        for store in stores:
            await store.close()
    outcome: Outcome = {}
    for incident in incidents:
        count, _, _ = outcome.get(incident.group_key, (0, False, frozenset()))
        alerts = frozenset((a.fingerprint, a.status.value) for a in incident.alerts.values())
        outcome[incident.group_key] = (count + 1, incident.is_open, alerts)
    conflicts = registry.get_sample_value("tocsin_correlator_conflicts_total") or 0.0
    return outcome, conflicts


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_two_correlators_reach_the_single_correlator_outcome(
    redis_url: str, tmp_path: Path, seed: int
) -> None:
    log = random_log(seed)
    single, _ = await correlate(redis_url, "single:", log, 1, tmp_path)
    double, _ = await correlate(redis_url, "double:", log, 2, tmp_path)
    assert double == single
    # One incident per group: none was opened twice by racing members.
    assert all(count == 1 for count, _, _ in double.values())


async def test_members_sharing_one_group_really_conflict_and_lose_nothing(
    redis_url: str, tmp_path: Path
) -> None:
    # One partition shared by both members and every alert in one group: both keep
    # writing the same incident, and only compare-and-set keeps their updates apart.
    log = [alert(T0, alertname="Storm", service="api", instance=f"i{i}") for i in range(300)]
    outcome, conflicts = await correlate(
        redis_url, "race:", log, 2, tmp_path, partitions=1, lockstep=True
    )
    [(count, is_open, alerts)] = outcome.values()
    assert (count, is_open, len(alerts)) == (1, True, 300)
    assert conflicts > 0


async def test_two_members_split_the_partitions_between_them(
    redis_url: str, tmp_path: Path
) -> None:
    rules = load_test_rules(tmp_path)
    clock = ManualClock(T0)
    metrics = CorrelatorMetrics(CollectorRegistry())
    stores = [RedisStore(redis_url, prefix="split:") for _ in range(2)]
    for store in stores:
        await store.open()
    try:
        first, second = (
            Correlator(store, lambda: rules, Tuning(), clock, metrics, member=f"m{i}", partitions=4)
            for i, store in enumerate(stores)
        )
        # The first member alone takes every partition ...
        assert await first.take_partitions() == [0, 1, 2, 3]
        # ... a second one announces itself and takes what the first gives up.
        assert await second.take_partitions() == []
        assert len(await first.take_partitions()) == 2
        mine = await second.take_partitions()
        assert len(mine) == 2
        assert set(mine).isdisjoint(await first.take_partitions())
    finally:
        for store in stores:
            await store.close()
