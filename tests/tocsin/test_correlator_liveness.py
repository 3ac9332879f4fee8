"""Liveness by the child's loop ticks, progress by an honest lag (issue 9, item 2).

A child whose step takes longer than the heartbeat timeout, its loop still ticking, is
live; one that neither ticks nor steps is hung. The lag grows while a step is under way
and while the correlator has not looked at the log, on the injected clock.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry

from core.clock import ManualClock
from core.model import Alert, AlertStatus, LogEntry
from tests.app_harness import START
from tocsin.correlator_health import ChildHealth, ChildState
from tocsin.progress import LAST_STEP_METRIC, LOOP_TICKS_METRIC, StepClock

TIMEOUT = timedelta(seconds=30)


def metrics(ticks: int, last_step: float = 1.0, lag: float = 0.0) -> bytes:
    return (
        f"{LOOP_TICKS_METRIC} {ticks}.0\n"
        f"{LAST_STEP_METRIC} {last_step}\n"
        f"tocsin_correlator_lag_seconds {lag}\n"
    ).encode()


def entry(cursor: str, seconds: int) -> LogEntry:
    alert = Alert(
        source="test",
        fingerprint=f"fp{cursor}",
        labels={"alertname": "A"},
        annotations={},
        status=AlertStatus.FIRING,
        starts_at=START,
        ends_at=None,
        generator_url="",
        received_at=START + timedelta(seconds=seconds),
    )
    return LogEntry(cursor, alert)


def test_a_ticking_child_in_a_long_step_is_live_however_long_the_step() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    # The last step never moves (one step of ten minutes), the loop ticks every look.
    for n in range(1, 21):
        now = START + n * timedelta(seconds=29)
        health.saw_metrics(metrics(ticks=n), now)
        assert not health.is_hung(now + timedelta(seconds=30))
    assert health.state is ChildState.RUNNING


def test_a_child_whose_loop_stops_ticking_is_hung() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    health.saw_metrics(metrics(ticks=5), START + timedelta(seconds=1))
    # Stopped (SIGSTOP) or its loop held by a busy step: the same ticks, the same step.
    health.saw_metrics(metrics(ticks=5), START + timedelta(seconds=20))
    assert not health.is_hung(START + timedelta(seconds=31))
    assert health.is_hung(START + timedelta(seconds=32))


def test_a_live_child_behind_the_log_is_catching_up_and_still_ready() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    health.saw_metrics(metrics(ticks=1, lag=45.0), START + timedelta(seconds=1))
    assert health.state is ChildState.CATCHING_UP
    assert health.ready
    assert health.as_json()["state"] == "catching up"
    assert health.as_json()["lag_seconds"] == 45.0
    health.saw_metrics(metrics(ticks=2, lag=0.5), START + timedelta(seconds=2))
    assert health.state is ChildState.RUNNING


def test_the_lag_grows_while_a_claimed_batch_is_not_committed() -> None:
    clock = ManualClock(START)
    steps = StepClock(clock, CollectorRegistry(), poll_seconds=1.0)
    steps.claimed("g", [], held_first=True)
    assert steps.lag_seconds() == 0.0
    steps.claimed("g", [entry("1", 0), entry("2", 1)], held_first=True)
    clock.advance(timedelta(seconds=40))  # one long step
    assert steps.lag_seconds() == 40.0
    # Read ahead while the first batch commits.
    steps.claimed("g", [entry("3", 39)], held_first=False)
    steps.committed("g", ("1", "2"))
    assert steps.lag_seconds() == 1.0
    steps.committed("g", ("3",))
    steps.claimed("g", [], held_first=True)
    assert steps.lag_seconds() == 0.0


def test_a_batch_claimed_and_lost_to_another_member_stops_counting() -> None:
    clock = ManualClock(START)
    steps = StepClock(clock, CollectorRegistry(), poll_seconds=1.0)
    steps.claimed("p1", [entry("1", 0)], held_first=True)
    steps.claimed("p2", [entry("9", 0)], held_first=True)
    clock.advance(timedelta(seconds=10))
    # p1's partition went elsewhere: its next claim finds nothing held, nothing new.
    steps.claimed("p1", [], held_first=True)
    assert steps.lag_seconds() == 10.0  # p2's batch is still under way
    steps.committed("p2", ("9",))
    assert steps.lag_seconds() == 0.0


def test_the_lag_grows_while_the_correlator_does_not_look_at_the_log() -> None:
    clock = ManualClock(START)
    steps = StepClock(clock, CollectorRegistry(), poll_seconds=1.0)
    # Start-up (or a long sweep) with no look at the log: entries may be waiting.
    clock.advance(timedelta(seconds=2))
    assert steps.lag_seconds() == 0.0
    clock.advance(timedelta(seconds=58))
    assert steps.lag_seconds() == 60.0
    steps.claimed("g", [], held_first=True)
    assert steps.lag_seconds() == 0.0
