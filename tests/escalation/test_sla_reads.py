"""The SLA stage reads the incidents it pages about together, on both stores.

The defect: a pass read each incident on its own, once for the title of a state whose
threshold fell due and once more for the summary of each incident paged, so a storm's
incidents, which breach their SLA together, cost two reads per incident.
"""

from __future__ import annotations

from typing import Any

from core.store import Store
from escalation.sla_stage import SlaStage
from tests.contract.builders import T0
from tests.escalation.escalation_world import any_store
from tests.escalation.sla_world import SlaWorld, minutes, sla_rules
from tests.escalation.test_page_summary import CountingStore

__all__ = ["any_store"]

STORM = (1, 2, 3)


async def entries(w: SlaWorld) -> dict[str, dict[str, Any]]:
    """The SLA outbox entries by key."""
    return dict(await w.store.consumer_documents("outbox", await w.sla_outbox()))


async def test_incidents_breaching_together_are_read_together(store: Store) -> None:
    w = SlaWorld(store, rules=sla_rules())
    counting = CountingStore(store)
    stage = SlaStage(counting, lambda: w.rules, w.clock, "m1", metrics=w)
    for n in STORM:
        await w.open_with(n)
    await w.run_sla(stage)
    assert counting.reads == 0  # nothing pages yet: no incident is read
    w.clock.set(T0 + minutes(3.75))
    await w.run_sla(stage)
    # The warnings of all three: one read for their titles and summaries together.
    warned = await entries(w)
    assert sorted(str(e["title"]) for e in warned.values()) == [
        f"SLA time to acknowledge P1 warning at 3m45s: High latency on web-{n}" for n in STORM
    ]
    assert {e["category"] for e in warned.values()} == {"performance"}  # each summarised
    assert counting.reads == 1
    w.clock.set(T0 + minutes(5))
    await w.run_sla(stage)
    # The breaches (bob and boss each): the titles are kept, the summaries read at once.
    breached = {k: e for k, e in (await entries(w)).items() if k not in warned}
    assert len(breached) == 2 * len(STORM)
    assert all(str(e["title"]).endswith(f"web-{e['incident'][-1]}") for e in breached.values())
    assert counting.reads == 2
