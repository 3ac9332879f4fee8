"""Delivery lanes: a job queued just as a channel's last worker ends is still sent."""

from __future__ import annotations

import asyncio

from escalation.lanes import Job, Lanes


def job(key: str) -> Job:
    """A job of one entry on channel ``c``."""
    return Job("c", {"key": key}, ((key, {"key": key}),))


async def test_a_job_put_between_the_last_worker_ending_and_its_discard_is_sent() -> None:
    sent: list[str] = []
    loop = asyncio.get_running_loop()
    lanes: Lanes

    async def deliver(one: Job) -> None:
        sent.append(one.keys[0])
        if one.keys[0] == "first":
            # Runs after the worker found its queue empty and ended, before the
            # callback that forgets the worker: the moment a dispatch can hit.
            loop.call_soon(lambda: lanes.put("c", [job("second")], 1))

    lanes = Lanes(deliver)
    lanes.put("c", [job("first")], 1)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await lanes.settle()

    assert sent == ["first", "second"]


async def test_a_lane_runs_at_most_its_concurrency_and_others_run_beside_it() -> None:
    gate = asyncio.Event()
    running: dict[str, int] = {"slow": 0, "fast": 0}
    peak: dict[str, int] = {"slow": 0, "fast": 0}
    done: list[str] = []

    async def deliver(one: Job) -> None:
        running[one.channel] += 1
        peak[one.channel] = max(peak[one.channel], running[one.channel])
        if one.channel == "slow":
            await gate.wait()
        running[one.channel] -= 1
        done.append(one.channel)

    lanes = Lanes(deliver)
    lanes.put("slow", [Job("slow", {}, ()) for _ in range(5)], 2)
    lanes.put("fast", [Job("fast", {}, ()) for _ in range(3)], 2)
    for _ in range(10):
        await asyncio.sleep(0)
    fast_first = list(done)
    gate.set()
    await lanes.settle()

    assert fast_first == ["fast", "fast", "fast"]
    assert peak["slow"] == 2  # bounded, though five were queued
    assert done.count("slow") == 5
