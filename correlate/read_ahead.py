"""Reading the next batch, and the silences in force, while the current one is correlated.

With its commits in flight (correlate.in_flight), a correlator that is behind would still
wait for the store at the start of each step: on Redis, which runs one command at a
time, the claim of the next batch and the read of the silences queue behind the commit
script of the step before. So as soon as a full batch is claimed, the next one and the
silences are requested at once, ahead of that step's commit, and are ready when the
next step begins. A step thus sees the silences as they were when its entries were read.

A read-ahead belongs to the batch it follows: once that batch is void (its commit
failed), the read-ahead is dropped, and what it claimed is claimed again by the store's
own rules (on Redis, the member's unacknowledged entries come first, in order).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from core.model import LogEntry
from core.silence import Silence
from core.store import Store


@dataclass(frozen=True, slots=True)
class _Ahead:
    after: str
    entries: asyncio.Task[list[LogEntry]]
    silences: asyncio.Task[list[Silence]]


class ReadAhead:
    """Per consumer group, the batch after a given position, read ahead, with the silences."""

    def __init__(
        self,
        store: Store,
        member: str,
        read_silences: Callable[[], Coroutine[Any, Any, list[Silence]]],
    ) -> None:
        self._store = store
        self._member = member
        # The correlator's reader: the silences are read again only if they changed.
        self._read_silences = read_silences
        self._ahead: dict[str, _Ahead] = {}

    def start(self, group: str, after: str, limit: int) -> None:
        """Requests the group's entries after ``after``, and the silences, now."""
        loop = asyncio.get_running_loop()
        claim = self._store.claim(group, self._member, limit, after=after)
        self._ahead[group] = _Ahead(
            after, loop.create_task(claim), loop.create_task(self._read_silences())
        )

    async def take(
        self, group: str, after: str | None
    ) -> tuple[list[LogEntry], list[Silence]] | None:
        """The entries read ahead after ``after`` and the silences; None if there are none."""
        ahead = self._ahead.pop(group, None)
        if ahead is None:
            return None
        if ahead.after != after:
            _discard(ahead)  # read after a batch that is void now
            return None
        return await ahead.entries, await ahead.silences

    def drop(self) -> None:
        """Forgets every read-ahead (a step failed, or the correlator stops)."""
        for ahead in self._ahead.values():
            _discard(ahead)
        self._ahead.clear()


def _discard(ahead: _Ahead) -> None:
    for task in (ahead.entries, ahead.silences):
        task.cancel()
        # Retrieved, so that a read that failed meanwhile is not reported as never seen.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
