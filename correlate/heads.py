"""What this correlator last committed for each group, so a step need not re-read it.

A cached head can be stale only if another writer (a second correlator, an operator)
changed the incident since; the commit's compare-and-set then refuses the step, the
cache is cleared, and the step is redone from fresh reads. So the cache saves reads
without ever deciding anything on stale data.

Most of the correlator's memory is here: every alert of every cached head, with its
labels. So the cache is bounded by alerts, not only by groups: each head weighs the
alerts it holds, and past ``alert_budget`` the least recently used heads are forgotten.
A forgotten head is read back from the store the next time its group has an entry, so
the budget trades reads for memory and never changes a decision.
"""

from __future__ import annotations

from collections import OrderedDict

from core.incident import Incident

# Groups remembered at most, whatever their size.
DEFAULT_GROUP_CAPACITY = 50_000
# Alerts the cached heads may hold together (about 1 KB each in the correlator).
DEFAULT_ALERT_BUDGET = 500_000

_MISSING = object()


def weight(head: Incident | None) -> int:
    """What a head costs the cache: its alerts, and one for the entry itself."""
    return 1 if head is None else 1 + len(head.alerts)


class HeadCache:
    """Group key -> head incident (or None: no incident yet), least recently used first out.

    Bounded twice: at most ``capacity`` groups, and at most ``alert_budget`` in total
    :func:`weight`. The most recently used head is kept even if it alone is over the
    budget: a storm incident bigger than the budget is read once, not at every step.
    """

    def __init__(
        self, capacity: int = DEFAULT_GROUP_CAPACITY, alert_budget: int = DEFAULT_ALERT_BUDGET
    ) -> None:
        self._capacity = capacity
        self._alert_budget = alert_budget
        # Each head with its weight when it was remembered. A step sets alerts in a cached
        # head's own dict (correlate.working), so it may have grown since; the step's
        # commit remembers it again, which weighs it again.
        self._heads: OrderedDict[str, tuple[Incident | None, int]] = OrderedDict()
        self._weight = 0

    @property
    def alerts(self) -> int:
        """The total weight of the heads held (their alerts, plus one per group)."""
        return self._weight

    def __len__(self) -> int:
        return len(self._heads)

    def lookup(self, group_key: str) -> tuple[bool, Incident | None]:
        """Returns (known, head)."""
        found = self._heads.get(group_key, _MISSING)
        if found is _MISSING:
            return False, None
        self._heads.move_to_end(group_key)
        return True, found[0]  # type: ignore[index]

    def remember(self, group_key: str, head: Incident | None) -> None:
        """Records the group's head as committed (or read), and forgets past the bounds."""
        heads = self._heads
        previous = heads.get(group_key)
        if previous is not None:
            self._weight -= previous[1]
        cost = weight(head)
        heads[group_key] = (head, cost)
        heads.move_to_end(group_key)
        self._weight += cost
        while len(heads) > self._capacity:
            self._forget_oldest()
        while self._weight > self._alert_budget and len(heads) > 1:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        _, (_, cost) = self._heads.popitem(last=False)
        self._weight -= cost

    def clear(self) -> None:
        """Forgets everything, after a conflict showed another writer was at work."""
        self._heads.clear()
        self._weight = 0
