"""What serve knows of its correlator child: progress, hangs and restarts (item 13)."""

from __future__ import annotations

from datetime import timedelta

from tests.app_harness import START, Ingest
from tests.support import poll_until
from tocsin.correlator_health import (
    START_GRACE,
    ChildHealth,
    ChildState,
    RestartReason,
    last_step_value,
)
from tocsin.progress import LAST_STEP_METRIC

TIMEOUT = timedelta(seconds=30)
METRICS = b"""# HELP tocsin_correlator_lag_seconds Age.
tocsin_correlator_lag_seconds 0.25
tocsin_correlator_last_step_timestamp_seconds 1.7645e+09
"""


def test_a_moving_heartbeat_is_progress_and_a_still_one_is_a_hang() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    assert health.state is ChildState.STARTING
    assert health.ready
    health.saw_metrics(METRICS, START + timedelta(seconds=20))
    assert health.state is ChildState.RUNNING
    # The same value read again is no progress: the clock runs on from the last move.
    health.saw_metrics(METRICS, START + timedelta(seconds=45))
    assert not health.is_hung(START + timedelta(seconds=50))
    assert health.is_hung(START + timedelta(seconds=51))


def test_a_child_that_never_shows_progress_is_hung_after_the_timeout() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    health.saw_metrics(b"no heartbeat here\n", START + timedelta(seconds=10))
    assert not health.is_hung(START + TIMEOUT)
    assert health.is_hung(START + TIMEOUT + timedelta(microseconds=1))


def test_a_new_child_has_the_start_up_grace_however_short_the_timeout() -> None:
    # A 2 s heartbeat timeout killed every child that took longer to start (a loaded CI
    # machine): it was started again and killed again, and never correlated.
    health = ChildHealth(timedelta(seconds=2))
    health.started(41, START)
    assert not health.is_hung(START + START_GRACE)
    assert health.is_hung(START + START_GRACE + timedelta(microseconds=1))
    # Once it has shown a sign of life, the timeout applies.
    health.saw_metrics(METRICS, START + timedelta(seconds=5))
    assert not health.is_hung(START + timedelta(seconds=7))
    assert health.is_hung(START + timedelta(seconds=7, microseconds=1))


def test_a_restart_is_counted_by_reason_and_not_ready_until_the_next_child() -> None:
    health = ChildHealth(TIMEOUT)
    health.started(41, START)
    health.restarted(RestartReason.HUNG, START + timedelta(minutes=1))
    assert not health.ready
    view = health.as_json()
    assert view["state"] == "restarting"
    assert view["pid"] is None
    assert view["restarts"] == {"exited": 0, "hung": 1}
    assert view["last_restart"] == {"reason": "hung", "at": "2026-11-27T15:13:00Z"}
    health.started(42, START + timedelta(minutes=1, seconds=1))
    assert health.ready
    assert health.as_json()["restarts"] == {"exited": 0, "hung": 1}


def test_last_step_value_reads_the_gauge_only() -> None:
    assert last_step_value(METRICS) == 1.7645e09
    assert last_step_value(b"tocsin_correlator_last_step_timestamp_seconds_x 3\n") is None
    assert last_step_value(b"") is None


async def test_an_idle_correlator_moves_its_heartbeat_with_each_poll(ingest: Ingest) -> None:
    # The inline correlator of the test app, on its manual clock, with nothing to do.
    ingest.clock.advance(timedelta(minutes=1))
    later = (START + timedelta(minutes=1)).timestamp()

    async def polled() -> bool | None:
        return True if ingest.metric(LAST_STEP_METRIC) == later else None

    assert await poll_until(polled, deadline_seconds=10, interval=0.02)
    assert LAST_STEP_METRIC in await (await ingest.client.get("/metrics")).text()
