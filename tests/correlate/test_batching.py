"""Correlating a log in big steps gives exactly what correlating it entry by entry gives.

A seeded stream of fires, resolves and resends over groups that open, resolve, reopen
and close, with a maintenance window ending, an operator silence, inhibition, flapping,
hold-back and expiry, is correlated twice on fresh stores: once one entry per step, once
whatever the log holds per step. Incidents and timelines must be equal, field by field,
but for the next-sweep hint (a step may set it earlier than needed, never later).
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from core.incident import Incident, IncidentEvent
from core.model import Alert, AlertStatus
from core.silence import LabelMatcher, Silence
from core.store import IncidentQuery
from core.store.sqlite import SQLiteStore
from rules.correlation import Tuning
from tests.correlate.harness import T0, Harness, alert, load_test_rules, make_harness

TUNINGS = {
    "default": Tuning(),
    # Incidents resolve with their last alert, so groups open and close within a tick.
    "immediate": Tuning(resolve_delay=timedelta(0)),
    "eager": Tuning(
        resolve_timeout=timedelta(minutes=10),
        resolve_delay=timedelta(minutes=1),
        flap_changes=3,
        flap_window=timedelta(minutes=15),
        flap_hold_down=timedelta(minutes=3),
        hold_alerts=3,
    ),
}
STEPS = [timedelta(0), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=25)]


def random_ticks(seed: int, ticks: int = 30) -> list[tuple[timedelta, list[Alert]]]:
    """Per tick: how far the clock moves first, then the alerts sent."""
    rng = random.Random(seed)
    stream = []
    for _ in range(ticks):
        sent = []
        for _ in range(rng.randrange(1, 16)):
            status = AlertStatus.FIRING if rng.random() < 0.6 else AlertStatus.RESOLVED
            if sent and rng.random() < 0.2:
                # The same alert again within the tick: a resend, or a quick change.
                again = rng.choice(sent)
                sent.append(alert(T0, status, ends_at=again.ends_at, **again.labels))
                continue
            name = rng.choice(["DiskFull", "HighLoad", "ClusterDown", "JobFailed"])
            labels = {
                "alertname": name,
                "service": rng.choice(["api", "db", "batch"]),
                "instance": f"i{rng.randrange(4)}",
                "severity": rng.choice(["warning", "critical"]),
                "cluster": rng.choice(["c1", "c2"]),
            }
            if name == "ClusterDown":
                # One inhibiting alert per cluster: inhibition names the first firing
                # source it finds, and which is first depends on when the correlator last
                # re-read them from the store, which the step size moves.
                labels.update(service="db", instance="i0", severity="critical")
            ends_at = T0 + timedelta(days=1) if rng.random() < 0.3 else None
            sent.append(alert(T0, status, ends_at=ends_at, **labels))
        stream.append((rng.choice(STEPS), sent))
    return stream


async def correlate(
    harness: Harness, ticks: list[tuple[timedelta, list[Alert]]], one_by_one: bool
) -> None:
    """Sends each tick's alerts as one append and step, or one entry per append and step."""
    await harness.store.save_silence(
        Silence(
            "s1",
            (LabelMatcher("instance", "=", "i3"),),
            T0,
            T0 + timedelta(hours=2),
            "ana",
            "x",
            T0,
        )
    )
    for step, alerts in ticks:
        harness.advance(seconds=step.total_seconds())
        now = harness.clock.now()
        sent = [_received(a, now) for a in alerts]
        for part in [[a] for a in sent] if one_by_one else [sent]:
            await harness.store.append(part)
            await harness.correlator.drain()
        await harness.correlator.sweep()


def counting_uuids() -> Callable[[], uuid.UUID]:
    """Returns a uuid4 stand-in that counts from 0."""
    ids = itertools.count()
    return lambda: uuid.UUID(int=next(ids))


def _received(sent: Alert, now: Any) -> Alert:
    return Alert(
        sent.source,
        sent.fingerprint,
        sent.labels,
        sent.annotations,
        sent.status,
        sent.starts_at,
        sent.ends_at,
        sent.generator_url,
        now,
    )


async def outcome(harness: Harness) -> Outcome:
    """Every incident without its version, and its timeline, in a stable order."""
    incidents = await harness.store.list_incidents(IncidentQuery(limit=10_000))
    found = []
    for incident in sorted(incidents, key=lambda i: (i.group_key, i.opened_at)):
        events = await harness.store.incident_events(incident.id)
        timeline = [entry for e in events for entry in _each_join(e)]
        found.append((_fields(incident), timeline))
    return found


Outcome = list[tuple[dict[str, Any], list[tuple[Any, ...]]]]
_RUNS = itertools.count()  # each run its own database file


async def outcome_of(
    tmp_path: Path,
    tuning: Tuning,
    feed: Callable[[Harness], Awaitable[None]],
    monkeypatch: pytest.MonkeyPatch,
    batch_size: int = 500,
) -> Outcome:
    """Runs ``feed`` against a correlator on a fresh SQLite store; returns the outcome.

    Incident ids count from 0 in every run, so that the outcomes of two runs compare.
    """
    monkeypatch.setattr(uuid, "uuid4", counting_uuids())
    store = SQLiteStore(tmp_path / f"tocsin-{next(_RUNS)}.db")
    await store.open()
    try:
        harness = make_harness(store, load_test_rules(tmp_path), tuning, batch_size=batch_size)
        await feed(harness)
        return await outcome(harness)
    finally:
        await store.close()


def _each_join(event: IncidentEvent) -> list[tuple[Any, ...]]:
    """The event as a timeline entry; an "alerts_joined" as one entry per alert it lists.

    A step folds consecutive joins into one event, so a big step lists in one event the
    joins that single entries list one per event; the joins and their order must agree.
    """
    if event.kind != "alerts_joined":
        return [(event.at, event.actor, event.kind, dict(event.detail))]
    return [(event.at, event.actor, "alerts_joined", joined) for joined in event.detail["alerts"]]


def _fields(incident: Incident) -> dict[str, Any]:
    fields = {name: getattr(incident, name) for name in Incident.__slots__}
    del fields["version"], fields["sweep_at"]
    fields["alerts"] = dict(sorted(incident.alerts.items()))
    return fields


@pytest.mark.parametrize("tuning", TUNINGS, ids=list(TUNINGS))
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_big_steps_correlate_exactly_as_entry_by_entry(
    tmp_path: Path, seed: int, tuning: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = random_ticks(seed)
    one_by_one_result, batched_result = [
        await outcome_of(
            tmp_path, TUNINGS[tuning], lambda h, one=one: correlate(h, ticks, one), monkeypatch
        )
        for one in (True, False)
    ]
    assert len(one_by_one_result) > 5
    assert batched_result == one_by_one_result
