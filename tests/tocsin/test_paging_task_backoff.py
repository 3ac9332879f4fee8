"""A paging step that keeps failing is retried after growing pauses, logged without flooding."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from tocsin.escalation_task import MAX_BACKOFF_SECONDS, POLL_SECONDS, run_steps


async def test_a_failing_step_backs_off_and_a_good_one_resets_it() -> None:
    outcomes: list[int | Exception] = [
        *[RuntimeError("broken row")] * 12,  # a bug that persists: pauses grow to the cap
        1,  # then a busy step: delivery is woken, no pause
        0,  # an idle one: the usual poll
        RuntimeError("again"),  # a new failure starts from the first pause again
    ]
    pauses: list[float] = []
    busy = asyncio.Event()

    async def step() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if not outcomes:
            raise asyncio.CancelledError

    with structlog.testing.capture_logs() as logs, pytest.raises(asyncio.CancelledError):
        await run_steps("escalation", step, busy, sleep)

    growing = [min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2**n) for n in range(1, 13)]
    assert pauses == [*growing, POLL_SECONDS, POLL_SECONDS * 2]
    assert growing[-1] == MAX_BACKOFF_SECONDS
    assert busy.is_set()
    failures = [e for e in logs if e["event"] == "paging step failed"]
    assert [e["failures"] for e in failures] == [*range(1, 13), 1]
    # The traceback only on the first failure in a row; the place every time.
    assert [e["trace"] is not None for e in failures] == [True] + [False] * 11 + [True]
    assert all("test_paging_task_backoff.py" in e["where"] for e in failures)
