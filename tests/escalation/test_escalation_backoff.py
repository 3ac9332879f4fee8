"""Retry timing of outbox delivery: exponential, capped, with jitter in [0.5, 1) of it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from escalation.delivery import Backoff

BACKOFF = Backoff(timedelta(seconds=1), timedelta(seconds=60), max_attempts=10)


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [
        # The first retry waits up to the base.
        (1, timedelta(seconds=1)),
        # Each failure doubles the wait.
        (3, timedelta(seconds=4)),
        # Past the cap, the cap holds.
        (9, timedelta(seconds=60)),
    ],
)
def test_the_wait_is_exponential_capped_and_jittered(attempts: int, ceiling: timedelta) -> None:
    rng = random.Random(3)

    waits = [BACKOFF.delay(attempts, rng) for _ in range(200)]

    assert all(ceiling / 2 <= wait < ceiling for wait in waits)
    assert len(set(waits)) > 100  # jittered: peers retrying together spread out
