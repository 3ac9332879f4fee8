"""The SLA stage: keeps each incident's SLA clocks from the incident event stream.

A consumer of its own (group ``sla``), apart from the escalation stage, so that either
can lag or fail without the other. One pass (:meth:`SlaStage.step`) claims a batch of
the stream, reads the SLA documents whose next threshold is due (``due_documents`` of
collection ``sla``), decides (``escalation.sla``), and commits in one
``commit_events``: the changed documents (each filed under its next threshold), the
new outbox entries of warnings and breaches, and their timeline notes, with the
advanced cursor; all or nothing, and only if the cursor is still where the batch
started. Only the member holding the group's lease fires due thresholds.

A member stopped or killed before its commit wrote nothing: whoever claims next decides
the same inputs again and writes the same outbox keys and the same handled thresholds,
so each threshold fires once. An outbox entry already stored is never written again.
Each new outbox entry is also noted (``paged``, escalation.timeline). ``metrics`` is
told the notes once the commit landed (``tocsin_sla_events_total{clock, kind}``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from core.clock import Clock
from core.store.events import ConsumerWrite, TimelineNote
from escalation.consumer_pass import start_pass
from escalation.page import OUTBOX
from escalation.page_summary import summary_fields
from escalation.sla import on_due, on_event
from escalation.sla_pages import SlaPage
from escalation.sla_state import COLLECTION, SlaState
from escalation.stage import EscalationStore
from escalation.timeline import NO_METRICS, EscalationMetrics, page_notes
from rules.model import Rules

GROUP = "sla"
# Incident reads in flight at once for titles: well under a store's connection pool.
TITLE_READS = 8


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
        batch, due, stored = started.batch, started.due, started.stored
        current = {k: SlaState.from_document(raw) for k, raw in stored.items()}
        before = dict(current)
        # Titles for the pages about to be decided, a few reads at a time (see _titled).
        reads = asyncio.Semaphore(TITLE_READS)

        async def titled(state: SlaState) -> SlaState:
            async with reads:
                return await self._titled(state)

        found = await asyncio.gather(*(titled(current[k]) for k, _ in due if k in current))
        current.update((state.incident_id, state) for state in found)
        rules = self._rules()
        pages: list[SlaPage] = []
        notes: list[TimelineNote] = []
        for event in batch.events:
            state = current.get(event.incident_id)
            if state is not None and (due_at := state.due) is not None and due_at <= event.at:
                state = await self._titled(state)  # a threshold it passed may page
            outcome = on_event(state, event, rules, now)
            if outcome.state is not None:
                current[event.incident_id] = outcome.state
            pages.extend(outcome.pages)
            notes.extend(outcome.notes)
        for key, _ in due:
            state = current.get(key)
            if state is None:
                continue
            outcome = on_due(state, rules, now)
            if outcome.state is not None:
                current[key] = outcome.state
            pages.extend(outcome.pages)
            notes.extend(outcome.notes)
        writes = [
            ConsumerWrite(COLLECTION, key, state.to_document(), state.due)
            for key, state in current.items()
            if before.get(key) != state
        ]
        new_pages = await self._new_pages(pages, rules)
        writes.extend(new_pages)
        notes.extend(page_notes(new_pages, now))
        await store.commit_events(batch, writes, notes)
        if notes:
            self._metrics.observe(notes)
        return len(batch.events) + len(due)

    async def _titled(self, state: SlaState) -> SlaState:
        """The state with the incident's title, read only when a page may need it (an
        incident read per new incident would cost more than the rest of a pass)."""
        if state.title:
            return state
        incident = await self._store.get_incident(state.incident_id)
        return state if incident is None else replace(state, title=incident.title)

    async def _new_pages(self, pages: list[SlaPage], rules: Rules) -> list[ConsumerWrite]:
        """The outbox entries of ``pages`` not stored yet (their keys are idempotent),
        each with its incident's summary as of now (``escalation.page_summary``; one
        incident read per incident paged, only when there is a new entry)."""
        if not pages:
            return []
        stored = await self._store.consumer_documents(OUTBOX, [p.key for p in pages])
        fresh = {p.key: p for p in pages if p.key not in stored}
        read: dict[str, dict[str, Any]] = {}
        writes: list[ConsumerWrite] = []
        for key, page in fresh.items():
            if page.incident_id not in read:
                incident = await self._store.get_incident(page.incident_id)
                read[page.incident_id] = (
                    {} if incident is None else summary_fields(incident, rules.priority.matrix)
                )
            document = page.to_document() | read[page.incident_id]
            writes.append(ConsumerWrite(OUTBOX, key, document, page.send_at))
        return writes

    async def release(self) -> None:
        """Gives up the group's lease, so another member can take over at once."""
        await self._store.release_events(GROUP, self._member)
