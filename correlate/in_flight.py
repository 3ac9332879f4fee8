"""A correlation step whose commit is still being written while the next step runs.

While the correlator is behind, each step waits for its commit: on Redis, the commit
script runs on the server for about a third of the step's time, and the correlator
sits idle. So when it has more to do, a step hands its commit over as in flight and
the next one starts at once: it claims the entries after the batch in flight
(``LogConsumer.claim(after=...)``) and works on the incidents as that commit leaves
them, which the head cache already holds. Before it commits in turn, it waits for the
one in flight: commits land one at a time, in log order.

If the commit in flight fails (another writer was first, or the store failed), the
step built on it is void as well: both undo what they set in the cached incidents,
latest first, the caches are cleared, and the entries of both are claimed again, in
order, from what the store holds. Nothing is applied twice and nothing is lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from core.store import CorrelationCommit, Store
from correlate.working import WorkingSet


@dataclass(slots=True)
class InFlight:
    """A step's commit being written, with what the step needs once it has landed."""

    group: str
    last_position: str  # the last log position the step claimed
    working: WorkingSet
    commit: CorrelationCommit
    task: asyncio.Task[None]
    claimed: int  # entries the step claimed, which its commit consumes
    correlated: int  # those of this member's partition, which the step correlated
    newest: datetime  # when the newest of its entries was received

    @classmethod
    def start(
        cls,
        store: Store,
        group: str,
        last_position: str,
        working: WorkingSet,
        commit: CorrelationCommit,
        counts: tuple[int, int],
        newest: datetime,
    ) -> InFlight:
        """Starts writing ``commit``; the step's working set becomes what the cache holds.

        ``counts`` are the entries claimed and, of those, correlated.
        """
        working.committed(commit)
        task = asyncio.get_running_loop().create_task(store.commit(commit))
        claimed, correlated = counts
        return cls(group, last_position, working, commit, task, claimed, correlated, newest)

    async def landed(self) -> None:
        """Waits for the commit; raises what it raised (VersionConflict, StoreError...)."""
        await asyncio.shield(self.task)
