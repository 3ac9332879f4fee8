"""Delivery lanes: each channel sends on its own, at most ``concurrency`` at once.

A job (one outbox entry, or a bundle replacing several) is put in its channel's lane;
each lane runs up to ``concurrency`` workers that take its jobs in order. Lanes do not
wait for each other: a channel that is slow (up to its timeout) or failing holds up only
itself, and the delivery loop keeps handing out other channels' jobs meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("tocsin.delivery")

Entry = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Job:
    """What one attempt sends (``send``) and the outbox entries it records on (``members``).

    ``send`` is the entry itself, or a bundled message (escalation.bundling) for several.
    """

    channel: str
    send: Mapping[str, Any]
    members: tuple[Entry, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The outbox keys of its members."""
        return tuple(key for key, _ in self.members)


class Lanes:
    """The lanes of all channels (see the module docstring)."""

    def __init__(self, deliver: Callable[[Job], Awaitable[None]]) -> None:
        """``deliver`` attempts one job and records its result."""
        self._deliver = deliver
        self._queues: dict[str, deque[Job]] = {}
        self._workers: dict[str, set[asyncio.Task[None]]] = {}

    def put(self, channel: str, jobs: list[Job], concurrency: int) -> None:
        """Queues ``jobs`` on the channel's lane, starting workers up to ``concurrency``."""
        queue = self._queues.setdefault(channel, deque())
        queue.extend(jobs)
        workers = self._workers.setdefault(channel, set())
        # A worker that found the queue empty is done, though not yet discarded (its
        # callback runs later): it takes nothing more, so it does not count.
        running = sum(not task.done() for task in workers)
        while running < min(concurrency, len(queue)):
            task = asyncio.create_task(self._work(channel), name=f"lane {channel}")
            workers.add(task)
            task.add_done_callback(workers.discard)
            running += 1

    def busy(self, channel: str) -> int:
        """How many jobs of the channel are queued or in flight."""
        return len(self._queues.get(channel, ())) + len(self._workers.get(channel, ()))

    async def settle(self) -> None:
        """Waits until every lane is idle."""
        while True:
            running = [t for workers in self._workers.values() for t in workers]
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)

    async def close(self) -> None:
        """Cancels every worker (their jobs stay claimed in the store until their lease)."""
        running = [t for workers in self._workers.values() for t in workers]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._queues.clear()

    async def _work(self, channel: str) -> None:
        queue = self._queues[channel]
        while queue:
            job = queue.popleft()
            try:
                await self._deliver(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The job stays claimed and comes back when its lease ends.
                log.exception("delivery failed", keys=job.keys, channel=channel)
