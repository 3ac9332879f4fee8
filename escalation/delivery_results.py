"""Delivery results to the store in as few commits as the store's pace allows.

Each delivery attempt's result (the entry written back, its timeline notes) is handed
to :meth:`ResultCommits.record`, which returns once a commit holding it landed. The
first result commits at once; those that come while that commit is under way wait for
it and then go together in the next one, as a group commit does. So a lone result is
recorded as soon as it is known, and under load (many lanes answering at once) one
commit carries many results instead of one commit each.

A commit that fails fails every ``record`` it carried: their jobs stay claimed and come
back when their lease ends, as a job whose own commit failed does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.store import CorrelationCommit
from core.store.events import ConsumerWrite, TimelineNote


@dataclass(frozen=True, slots=True)
class _Result:
    writes: Sequence[ConsumerWrite]
    notes: Sequence[TimelineNote]
    landed: asyncio.Future[None]


class ResultCommits:
    """Commits delivery results under one group (see the module docstring)."""

    def __init__(
        self,
        group: str,
        commit: Callable[[CorrelationCommit], Awaitable[None]],
        landed: Callable[[Sequence[TimelineNote]], None],
    ) -> None:
        """``commit`` writes a commit; ``landed`` is told the notes of each commit that did."""
        self._group = group
        self._commit = commit
        self._landed = landed
        self._waiting: list[_Result] = []
        self._flushing: asyncio.Task[None] | None = None

    async def record(self, writes: Sequence[ConsumerWrite], notes: Sequence[TimelineNote]) -> None:
        """Returns once ``writes`` and ``notes`` are committed; raises what the commit raised."""
        landed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Result(writes, notes, landed))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(), name="delivery results")
        # Shielded: a worker cancelled while it waits leaves its result to be committed
        # (the send happened); only the wait ends.
        await asyncio.shield(landed)

    async def close(self) -> None:
        """Waits for the commits under way and those of the results already recorded."""
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing

    async def _flush(self) -> None:
        """Commits what waits, again and again, until nothing does."""
        while self._waiting:
            taken, self._waiting = self._waiting, []
            # One write per document: a later result of a key (a channel's pause
            # state counted twice) replaces an earlier one, as two commits would.
            writes = {(w.collection, w.key): w for r in taken for w in r.writes}
            notes = tuple(n for r in taken for n in r.notes)
            commit = CorrelationCommit(self._group, documents=tuple(writes.values()), notes=notes)
            try:
                await self._commit(commit)
            except Exception as exc:  # each waiting record raises it
                for result in taken:
                    if not result.landed.done():
                        result.landed.set_exception(exc)
                    # Retrieved here too, so a waiter gone (cancelled) logs no warning.
                    result.landed.exception()
                continue
            self._landed(notes)
            for result in taken:
                if not result.landed.done():
                    result.landed.set_result(None)
