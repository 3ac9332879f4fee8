"""The SLA stage: keeps each incident's SLA clocks from the incident event stream.

A consumer of its own (group ``sla``), apart from the escalation stage, so that either
can lag or fail without the other. One pass (:meth:`SlaStage.step`) claims a batch of
the stream, reads the SLA documents whose next threshold is due (``due_documents`` of
collection ``sla``), decides (``escalation.sla``), and commits in one
``commit_events``: the changed documents (each filed under its next threshold), the
new outbox entries of warnings and breaches, and their timeline notes, with the
advanced cursor; all or nothing, and only if the cursor is still where the batch
started. Only the member holding the group's lease fires due thresholds.

Incidents are read only when a pass pages anew: those it pages, all in one read
(``get_incidents``), for the entries' summaries (shared with the escalation stage) and
for the titles of clocks that have none yet (the pass is then decided again with them).

A member stopped or killed before its commit wrote nothing: whoever claims next decides
the same inputs again and writes the same outbox keys and the same handled thresholds,
so each threshold fires once. An outbox entry already stored is never written again.
Each new outbox entry is also noted (``paged``, escalation.timeline). ``metrics`` is
told the notes once the commit landed (``tocsin_sla_events_total{clock, kind}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.clock import Clock
from core.incident import Incident
from core.store.events import ConsumerWrite, TimelineNote
from escalation.consumer_pass import ConsumerPass, start_pass
from escalation.sla import on_due, on_event
from escalation.sla_pages import SlaPage
from escalation.sla_state import COLLECTION, SlaState
from escalation.stage import EscalationStore, outbox_writes, read_incidents, unsent
from escalation.timeline import NO_METRICS, EscalationMetrics, page_notes
from rules.model import Rules

GROUP = "sla"


class SlaStage:
    """Keeps SLA clocks and fires their thresholds (see the module docstring)."""

    def __init__(
        self,
        store: EscalationStore,
        rules: Callable[[], Rules],
        clock: Clock,
        member: str,
        *,
        metrics: EscalationMetrics = NO_METRICS,
        limit: int = 256,
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        """``rules`` returns the rules in force now; ``metrics`` counts the notes written."""
        self._store = store
        self._rules = rules
        self._clock = clock
        self._member = member
        self._metrics = metrics
        self._limit = limit
        self._lease = lease

    async def step(self) -> int:
        """Runs one pass; returns how many events and due documents it handled."""
        now = self._clock.now()
        store = self._store
        started = await start_pass(
            store, GROUP, COLLECTION, self._member, self._limit, now=now, lease=self._lease
        )
        if started is None:
            return 0
        rules = self._rules()
        decided = _decide(started, rules, now, {})
        # The incidents paged anew, all in one read, only when there is a new page: for
        # the pages' summaries, and for the titles of those the stage has none of yet
        # (a read per incident started would cost more than the rest of a pass).
        fresh = await unsent(store, decided.pages)
        read = await read_incidents(store, [p.incident_id for p in fresh], {})
        titles = _titles(decided.current, read)
        if titles:
            # Decided again with the titles (the decisions are pure: the same pages).
            decided = _decide(started, rules, now, titles)
            keys = {p.key for p in fresh}
            fresh = [p for p in decided.pages if p.key in keys]
        writes = [
            ConsumerWrite(COLLECTION, key, state.to_document(), state.due)
            for key, state in decided.current.items()
            if decided.before.get(key) != state
        ]
        outbox = await outbox_writes(store, fresh, rules, read)
        writes.extend(outbox)
        notes = [*decided.notes, *page_notes(outbox, now)]
        await store.commit_events(started.batch, writes, notes)
        if notes:
            self._metrics.observe(notes)
        return len(started.batch.events) + len(started.due)

    async def release(self) -> None:
        """Gives up the group's lease, so another member can take over at once."""
        await self._store.release_events(GROUP, self._member)


@dataclass(frozen=True, slots=True)
class _Decided:
    """A pass's decisions: the states before and after, the pages and the notes."""

    before: dict[str, SlaState]
    current: dict[str, SlaState]
    pages: list[SlaPage]
    notes: list[TimelineNote]


def _decide(
    started: ConsumerPass, rules: Rules, now: datetime, titles: Mapping[str, str]
) -> _Decided:
    """Decides the batch's events, then the due documents (``escalation.sla``), with
    the incidents' ``titles`` for the states that have none."""
    before = {k: SlaState.from_document(raw) for k, raw in started.stored.items()}
    current = {
        k: replace(state, title=titles[k]) if not state.title and k in titles else state
        for k, state in before.items()
    }
    pages: list[SlaPage] = []
    notes: list[TimelineNote] = []
    for event in started.batch.events:
        key = event.incident_id
        outcome = on_event(current.get(key), event, rules, now, titles.get(key, ""))
        if outcome.state is not None:
            current[key] = outcome.state
        pages.extend(outcome.pages)
        notes.extend(outcome.notes)
    for key, _ in started.due:
        state = current.get(key)
        if state is None:
            continue
        outcome = on_due(state, rules, now)
        if outcome.state is not None:
            current[key] = outcome.state
        pages.extend(outcome.pages)
        notes.extend(outcome.notes)
    return _Decided(before, current, pages, notes)


def _titles(current: Mapping[str, SlaState], read: Mapping[str, Incident | None]) -> dict[str, str]:
    """The titles of the incidents ``read`` whose state has none yet."""
    return {
        key: incident.title
        for key, incident in read.items()
        if incident is not None
        and incident.title
        and (state := current.get(key)) is not None
        and not state.title
    }
