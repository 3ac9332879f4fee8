"""What this correlator last committed for each group, so a step need not re-read it.

A cached head can be stale only if another writer (a second correlator, an operator)
changed the incident since; the commit's compare-and-set then refuses the step, the
cache is cleared, and the step is redone from fresh reads. So the cache saves reads
without ever deciding anything on stale data.
"""

from __future__ import annotations

from collections import OrderedDict

from core.incident import Incident

_MISSING = object()


class HeadCache:
    """Group key -> head incident (or None: no incident yet), least recently used first out."""

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._heads: OrderedDict[str, Incident | None] = OrderedDict()

    def lookup(self, group_key: str) -> tuple[bool, Incident | None]:
        """Returns (known, head)."""
        head = self._heads.get(group_key, _MISSING)
        if head is _MISSING:
            return False, None
        self._heads.move_to_end(group_key)
        return True, head  # type: ignore[return-value]

    def remember(self, group_key: str, head: Incident | None) -> None:
        """Records the group's head as committed (or read)."""
        self._heads[group_key] = head
        self._heads.move_to_end(group_key)
        while len(self._heads) > self._capacity:
            self._heads.popitem(last=False)

    def clear(self) -> None:
        """Forgets everything, after a conflict showed another writer was at work."""
        self._heads.clear()
