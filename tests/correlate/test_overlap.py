"""Steps whose commits overlap the next step correlate exactly as steps that wait.

While the correlator is behind, each step leaves its commit in flight and the next one
works on top of it (correlate.in_flight, correlate.read_ahead). Claims of 2-4 entries
make every tick of these workloads take that path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.incident import IncidentState
from core.store import CorrelationCommit
from core.store.sqlite import SQLiteStore
from tests.correlate.harness import T0, Harness, alert, load_test_rules, make_harness
from tests.correlate.test_batching import TUNINGS, outcome_of, random_ticks


async def correlate(harness: Harness, seed: int, overlap: bool) -> None:
    """Sends the seeded ticks; correlates each with overlapping steps or waiting ones."""
    for step, alerts in random_ticks(seed, ticks=40):
        harness.advance(seconds=step.total_seconds())
        now = harness.clock.now()
        await harness.store.append([replace(a, received_at=now) for a in alerts])
        if overlap:
            await harness.correlator.drain()
        else:
            while await harness.correlator.step():
                pass
        await harness.correlator.sweep()


@pytest.mark.parametrize("tuning", ["default", "eager"])
@pytest.mark.parametrize("seed", [4, 5])
async def test_overlapping_steps_correlate_exactly_as_waiting_ones(
    tmp_path: Path, seed: int, tuning: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waiting, overlapping = [
        await outcome_of(
            tmp_path,
            TUNINGS[tuning],
            lambda h, overlap=overlap: correlate(h, seed, overlap),
            monkeypatch,
            batch_size=2,
        )
        for overlap in (False, True)
    ]
    assert len(waiting) > 5
    assert overlapping == waiting


async def test_a_failed_commit_in_flight_voids_the_step_built_on_it(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = make_harness(sqlite_store, load_test_rules(tmp_path), batch_size=2)
    hosts = [alert(T0, alertname="DiskFull", service="api", instance=f"h{n}") for n in range(8)]
    await harness.send(*hosts[:2])
    [opened] = await harness.incidents()
    # An operator takes the incident meanwhile: the correlator's cached copy is stale.
    taken = replace(opened, version=opened.version + 1, assignee="bob")
    await sqlite_store.commit(CorrelationCommit("operator", incidents=(taken,)))
    await sqlite_store.append(hosts[2:])

    # The first step's commit is refused in flight (stale version); the second step,
    # built on it, is void too; both batches come again, read afresh.
    assert await harness.correlator.step(overlap=True) == 2
    assert await harness.correlator.step(overlap=True) == 0
    while await harness.correlator.step(overlap=True):
        pass
    assert await harness.correlator.settle()

    [incident] = await harness.incidents()
    assert incident.assignee == "bob"
    assert incident.state is IncidentState.TRIGGERED
    assert sorted(a.labels["instance"] for a in incident.alerts.values()) == [
        f"h{n}" for n in range(8)
    ]
    events = await sqlite_store.incident_events(incident.id)
    joined = [
        a["fingerprint"] for e in events if e.kind == "alerts_joined" for a in e.detail["alerts"]
    ]
    assert sorted(joined) == sorted(h.fingerprint for h in hosts)  # each join once
    assert harness.registry.get_sample_value("tocsin_correlator_conflicts_total") == 1
