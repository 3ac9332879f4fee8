"""Every change the correlator makes to an incident reaches the incident event stream.

The correlator runs on a real store through a life of one incident: opened and
categorised, joined by a more urgent alert, muted and unmuted by a silence, resolved,
then reopened. The stream must hold exactly the incidents' timelines, in order, each
event with the incident's version, state and priority as the step wrote them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.model import AlertStatus
from core.silence import LabelMatcher, Silence
from core.store.events import StreamEvent
from core.store.redis import RedisStore
from core.store.sqlite import SQLiteStore
from correlate.engine import KEEP_INCIDENT_EVENTS
from correlate.working import WorkingSet
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules, make_harness

# A critical alert is more urgent than the db category's medium: it raises the priority.
PRIORITY_RULES = RULES.replace(
    "categories:\n",
    "categories:\n"
    "  - name: critical\n"
    "    matchers: ['severity=\"critical\"']\n"
    "    urgency: high\n"
    "    continue: true\n",
)

# What the issue names among the correlator's changes; the test asserts it saw each.
KINDS = {
    "opened",
    "categorised",
    "alerts_joined",
    "priority_raised",
    "muted",
    "unmuted",
    "alert_resolved",
    "resolved",
    "reopened",
}

LATER = T0 + timedelta(days=30)
LEASE = timedelta(seconds=30)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The correlator harness on a new SQLite file, or on a real redis-server."""
    store: SQLiteStore | RedisStore
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "tocsin.db")
    else:
        store = RedisStore(request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield make_harness(store, load_test_rules(tmp_path, PRIORITY_RULES))
    finally:
        await store.close()


async def _live_one_incident(harness: Harness) -> None:
    await harness.send(
        alert(
            T0,
            ends_at=LATER,
            instance="db1",
            severity="warning",
            alertname="DiskFull",
            service="db",
        )
    )
    harness.advance(minutes=1)
    await harness.send(
        alert(
            T0,
            ends_at=LATER,
            instance="db2",
            severity="critical",
            alertname="DiskFull",
            service="db",
        )
    )
    harness.advance(minutes=1)
    now = harness.clock.now()
    matcher = LabelMatcher("instance", "=", "db1")
    silence = Silence("s1", (matcher,), now, now + timedelta(hours=1), "ana", "swap", now)
    await harness.store.save_silence(silence)
    await harness.correlator.sweep()
    harness.advance(minutes=1)
    await harness.store.save_silence(replace(silence, ends_at=harness.clock.now()))
    await harness.correlator.sweep()
    harness.advance(minutes=1)
    resolved = AlertStatus.RESOLVED
    await harness.send(
        alert(
            harness.clock.now(),
            resolved,
            instance="db1",
            severity="warning",
            alertname="DiskFull",
            service="db",
        ),
        alert(
            harness.clock.now(),
            resolved,
            instance="db2",
            severity="critical",
            alertname="DiskFull",
            service="db",
        ),
    )
    harness.advance(minutes=10)  # within the route's reopen window of 1h
    await harness.send(
        alert(
            harness.clock.now(), ends_at=LATER, instance="db1", alertname="DiskFull", service="db"
        )
    )


async def _whole_stream(harness: Harness) -> list[StreamEvent]:
    batch = await harness.store.claim_events("test", "m", 10_000, now=T0, lease=LEASE)
    return list(batch.events)


async def test_the_stream_holds_every_timeline_event_with_its_incident(harness: Harness) -> None:
    await _live_one_incident(harness)

    stream = await _whole_stream(harness)

    incidents = await harness.incidents()
    assert KINDS - {event.kind for event in stream} == set()
    # Exactly the timelines: each incident's events, in its timeline's order.
    for incident in incidents:
        own = [e for e in stream if e.incident_id == incident.id]
        assert [e.event for e in own] == await harness.store.incident_events(incident.id)
        # Versions never go back, and the last event carries the incident as it is now.
        assert [e.version for e in own] == sorted(e.version for e in own)
        last = own[-1]
        assert (last.version, last.state, last.priority) == (
            incident.version,
            incident.state,
            incident.priority,
        )
    assert len(stream) == sum([len(await harness.store.incident_events(i.id)) for i in incidents])


async def test_each_event_carries_the_state_its_step_left(harness: Harness) -> None:
    await _live_one_incident(harness)

    stream = await _whole_stream(harness)

    def first(kind: str) -> StreamEvent:
        return next(e for e in stream if e.kind == kind)

    assert first("opened").priority == "P2"
    assert first("priority_raised").priority == "P1"
    assert first("resolved").state.value == "resolved"
    assert first("reopened").state.value == "triggered"
    assert first("opened").version < first("priority_raised").version < first("resolved").version


async def test_the_sweep_trims_what_every_group_consumed_past_the_retention(
    harness: Harness,
) -> None:
    await _live_one_incident(harness)
    # The cutoff must pass the write time too, which Redis takes from its own clock.
    harness.clock.set(datetime.now(UTC) + KEEP_INCIDENT_EVENTS + timedelta(days=1))
    now = harness.clock.now()
    everything = await harness.store.claim_events("escalation", "m", 10_000, now=now, lease=LEASE)
    await harness.store.commit_events(everything)
    slow = await harness.store.claim_events("status-page", "m", 2, now=now, lease=LEASE)
    await harness.store.commit_events(slow)

    await harness.correlator.sweep()  # a correlator's first sweep reads every incident

    kept = await harness.store.claim_events("audit", "m", 10_000, now=now, lease=LEASE)
    # What both groups consumed went; what the slow group has not consumed stays.
    assert kept.events[: len(everything.events) - 2] == everything.events[2:]
    timeline = await harness.store.incident_events(everything.events[0].incident_id)
    assert len(timeline) >= len(everything.events)  # timelines are never trimmed


async def test_an_incident_that_only_gains_an_event_is_written_one_version_up(
    harness: Harness,
) -> None:
    await harness.send(alert(T0, ends_at=LATER, instance="db1", alertname="DiskFull"))
    incident = await harness.only_incident()
    working = WorkingSet(harness.store)
    working.add_loaded(incident)

    working.event(incident, T0, "source_acknowledged", fingerprint="f")
    commit = working.commit("correlator", ())

    # Without it the event would reach the stream with no version of its own.
    assert commit.incidents == (replace(incident, version=incident.version + 1),)
    await harness.store.commit(commit)
    stream = await _whole_stream(harness)
    assert (stream[-1].kind, stream[-1].version) == ("source_acknowledged", incident.version + 1)
