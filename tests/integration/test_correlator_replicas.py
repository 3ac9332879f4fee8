"""Two `tocsin serve` processes on one Redis correlate the same log as one process does.

Each replica ingests half of a seeded random stream of fires and resolves and runs its
correlator with four partitions; the replicas split the partitions between them. The
incidents they produce together must equal those of a single process fed the same
stream: one incident per group (none opened twice) and every alert's last status (no
update lost).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from core.store import IncidentQuery
from core.store.redis import RedisStore
from core.timestamps import format_rfc3339
from tests.server_process import HOOK_AUTH, HOOK_SOURCE, TocsinProcess
from tests.support import poll_until

pytestmark = pytest.mark.redis

Outcome = dict[str, tuple[int, frozenset[tuple[str, str]]]]


def random_events(seed: int, count: int = 240) -> list[dict[str, object]]:
    """Generic-webhook alerts over 5 groups of 6 alerts, 70% firing.

    Each event has a start of its own, later than the one before: a copy without a start
    that repeats a firing alert keeps its known start (ingest's merge), and each replica
    knows only what it wrote, so start-less copies could be merged on one replica and
    not on the other; here every event is a new version for both.
    """
    rng = random.Random(seed)
    base = datetime.now(UTC) - timedelta(days=1)
    return [
        {
            "summary": "s",
            "status": "firing" if rng.random() < 0.7 else "resolved",
            "labels": {"alertname": f"Alert{rng.randrange(5)}", "instance": f"i{rng.randrange(6)}"},
            "starts_at": format_rfc3339(base + timedelta(seconds=index)),
        }
        for index in range(count)
    ]


async def run(
    processes: list[TocsinProcess], events: list[dict[str, object]], store_url: str
) -> Outcome:
    """Sends the events in order, alternating replicas, and waits until all is correlated."""
    async with aiohttp.ClientSession() as session:
        for index, event in enumerate(events):
            target = processes[index % len(processes)]
            async with session.post(
                f"{target.url}/ingest/webhook", json=event, headers=HOOK_AUTH
            ) as answer:
                assert answer.status == 200, await answer.text()

    async def all_correlated() -> bool | None:
        stored = sum(
            [await p.metric("tocsin_alerts_stored_total", source=HOOK_SOURCE) for p in processes]
        )
        correlated = sum([await p.metric("tocsin_correlator_entries_total") for p in processes])
        return True if stored > 0 and correlated >= stored else None

    await poll_until(all_correlated, deadline_seconds=60, interval=0.2)
    store = RedisStore(store_url)
    await store.open()
    try:
        incidents = await store.list_incidents(IncidentQuery(limit=1000))
    finally:
        await store.close()
    outcome: Outcome = {}
    for incident in incidents:
        count, _ = outcome.get(incident.group_key, (0, frozenset()))
        alerts = frozenset((a.fingerprint, a.status.value) for a in incident.alerts.values())
        outcome[incident.group_key] = (count + 1, alerts)
    return outcome


async def test_two_replicas_correlate_like_one(
    redis_url: str, tmp_path: Path, start_tocsin
) -> None:  # type: ignore[no-untyped-def]
    events = random_events(seed=7)
    base = redis_url.rsplit("/", 1)[0]
    single_url, double_url = f"{base}/1", f"{base}/2"
    args = ("--correlator-partitions", "4", "--correlator-poll-seconds", "0.05")
    single = await start_tocsin(single_url, *args)
    alone = await run([single], events, single_url)
    single.kill()
    replicas = [await start_tocsin(double_url, *args), await start_tocsin(double_url, *args)]
    for replica in replicas:
        # Both correlators must be up before the stream starts, or one takes it all.
        await replica.wait_correlator()
    together = await run(replicas, events, double_url)
    assert together == alone
    assert all(count == 1 for count, _ in together.values())
    # Both replicas really correlated a share of the log.
    shares = [await r.metric("tocsin_correlator_entries_total") for r in replicas]
    assert all(share > 0 for share in shares), shares
