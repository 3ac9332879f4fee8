"""Delivery never loses a stage's ring that comes while a delivery pass runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tocsin import escalation_task
from tocsin.escalation_task import EscalationTask
from tocsin.wakeup import Waiter

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def test_a_ring_during_a_pass_starts_the_next_pass_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With an hour-long poll, a lost ring would leave the page waiting for an hour.
    monkeypatch.setattr(escalation_task, "POLL_SECONDS", 3600.0)
    task = object.__new__(EscalationTask)
    task._wake = Waiter()
    task._clock = SimpleNamespace(now=lambda: NOW)
    task.stage = SimpleNamespace(lease_until=NOW + timedelta(minutes=1))
    second_pass: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    passes = 0

    async def dispatch() -> int:
        nonlocal passes
        passes += 1
        if passes == 1:
            # A stage commits a page after this pass claimed, and rings: nothing to send yet.
            task._wake.set()
        elif not second_pass.done():
            second_pass.set_result(None)
        return 0

    task.delivery = SimpleNamespace(dispatch=dispatch)
    running = asyncio.create_task(task.run_delivery())
    try:
        await asyncio.wait_for(second_pass, timeout=10)
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert passes >= 2
