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

Heads used by the current or the previous step are never forgotten for the budget: a
step holds the whole incidents it touches anyway (and, while its commit is in flight,
so does the next one), so forgetting them would free nothing and read them again at
once. A storm that touches more alerts' incidents at every step than the budget allows
therefore keeps them all; the budget bounds the incidents that have gone quiet.
"""

from __future__ import annotations

from collections import OrderedDict

from core.incident import Incident

# Groups remembered at most, whatever their size.
DEFAULT_GROUP_CAPACITY = 50_000
# Alerts the cached heads may hold together (about 1 KB each in the correlator).
DEFAULT_ALERT_BUDGET = 500_000


def weight(head: Incident | None) -> int:
    """What a head costs the cache: its alerts, and one for the entry itself."""
    return 1 if head is None else 1 + len(head.alerts)


class HeadCache:
    """Group key -> head incident (or None: no incident yet), least recently used first out.

    Bounded twice: at most ``capacity`` groups, and at most ``alert_budget`` in total
    :func:`weight` but for the heads the last two steps used (see the module's text):
    a storm incident bigger than the budget is read once, not at every step.
    """

    def __init__(
        self, capacity: int = DEFAULT_GROUP_CAPACITY, alert_budget: int = DEFAULT_ALERT_BUDGET
    ) -> None:
        self._capacity = capacity
        self._alert_budget = alert_budget
        # Each head with its weight when it was remembered. A step sets alerts in a cached
        # head's own dict (correlate.working), so it may have grown since; the step's
        # commit remembers it again, which weighs it again.
        # And the step that last used it.
        self._heads: OrderedDict[str, tuple[Incident | None, int, int]] = OrderedDict()
        self._weight = 0
        self._step = 0

    @property
    def alerts(self) -> int:
        """The total weight of the heads held (their alerts, plus one per group)."""
        return self._weight

    def __len__(self) -> int:
        return len(self._heads)

    def new_step(self) -> None:
        """Marks the start of a correlation step: heads used before the last one may go."""
        self._step += 1

    def lookup(self, group_key: str) -> tuple[bool, Incident | None]:
        """Returns (known, head)."""
        found = self._heads.get(group_key)
        if found is None:
            return False, None
        head, cost, used = found
        if used != self._step:
            self._heads[group_key] = (head, cost, self._step)
        self._heads.move_to_end(group_key)
        return True, head

    def remember(self, group_key: str, head: Incident | None) -> None:
        """Records the group's head as committed (or read), and forgets past the bounds."""
        heads = self._heads
        previous = heads.get(group_key)
        if previous is not None:
            self._weight -= previous[1]
        cost = weight(head)
        heads[group_key] = (head, cost, self._step)
        heads.move_to_end(group_key)
        self._weight += cost
        while len(heads) > self._capacity:
            self._forget_oldest()
        while self._weight > self._alert_budget and self._oldest_is_idle():
            self._forget_oldest()

    def _oldest_is_idle(self) -> bool:
        # Least recently used first: once the oldest was used by the last two steps, so
        # was every other one.
        oldest = next(iter(self._heads.values()), None)
        return oldest is not None and oldest[2] < self._step - 1

    def _forget_oldest(self) -> None:
        _, (_, cost, _) = self._heads.popitem(last=False)
        self._weight -= cost

    def clear(self) -> None:
        """Forgets everything, after a conflict showed another writer was at work."""
        self._heads.clear()
        self._weight = 0
