"""The escalation stage: consumes the incident event stream and fires due timers.

The member holding the lease also re-triggers incidents whose acknowledgement timed out
(``escalation.retrigger``: the lifecycle's ``retrigger``, written before the stage's own
commit and idempotent), and tells until when it holds the lease (:attr:`lease_until`),
so that outbox delivery runs on that member only (``tocsin.escalation_task``).

One pass (:meth:`EscalationStage.step`) claims a batch of the stream for the consumer
group ``escalation``, reads the escalations whose next step is due (``due_documents``),
decides (``escalation.decide``), and commits the changed escalation documents and the
new outbox entries together with the advanced cursor in one ``commit_events``: all or
nothing, and only if the cursor is still where the batch started. Due timers go through
that same commit even when no event is new (the batch is then empty and the cursor does
not move, but the write is still refused if another member moved it), and only the
member holding the group's lease fires them, so one member at a time decides.

A member killed before its commit wrote nothing; whoever claims next decides the same
inputs again and, the decisions being deterministic, writes the same outbox keys. An
outbox entry already stored is never written again (its delivery state is kept).

Known limit: timers are fired by the lease holder only, but a holder whose lease expired
mid-pass and whose timer-only commit moves no cursor is not refused; with the default
lease that needs a pass longer than 30 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from core.cancellation import end_if_cancelled
from core.clock import Clock
from core.incident import Incident, IncidentState
from core.store.events import ConsumerWrite, EventBatch, IncidentEventStream
from escalation.consumer_pass import start_pass
from escalation.decide import on_due, on_event, on_updates_due
from escalation.page import OUTBOX, Page
from escalation.page_summary import summary_fields
from escalation.retrigger import RetriggerStore, retrigger
from escalation.state import COLLECTION, Escalation
from escalation.timeline import NO_METRICS, EscalationMetrics, stage_notes
from escalation.update_flush import Notice
from rules.model import Rules

GROUP = "escalation"
# A page or notice of this stage or the SLA stage (an SlaPage is a Page).
AnyPage = TypeVar("AnyPage", bound=Page | Notice)


class EscalationStore(IncidentEventStream, RetriggerStore, Protocol):
    """What the stage needs of a store: the event stream, incidents, and their writes."""

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident, or None."""
        ...

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        """Returns those of the incidents that exist, by id, in one read."""
        ...


class EscalationStage:
    """Decides pages from incident events and due timers (see the module docstring)."""

    def __init__(
        self,
        store: EscalationStore,
        rules: Callable[[], Rules],
        clock: Clock,
        member: str,
        *,
        limit: int = 256,
        lease: timedelta = timedelta(seconds=30),
        metrics: EscalationMetrics = NO_METRICS,
    ) -> None:
        """``rules`` returns the rules in force now (a reload changes what it returns)."""
        self._store = store
        self._rules = rules
        self._clock = clock
        self._member = member
        self._limit = limit
        self._lease = lease
        # Until when this member holds the group's lease (None: another member does).
        self.lease_until: datetime | None = None
        self._metrics = metrics

    async def step(self) -> int:
        """Runs one pass; returns how many events and due timers it handled."""
        now = self._clock.now()
        store = self._store
        started = await start_pass(
            store, GROUP, COLLECTION, self._member, self._limit, now=now, lease=self._lease
        )
        if started is None:
            self.lease_until = None
            return 0
        # A store renews a held lease only once half of it passed: it runs at least that.
        self.lease_until = now + self._lease / 2
        batch, due, stored = started.batch, started.due, started.stored
        current = {k: Escalation.from_document(raw) for k, raw in stored.items()}
        before = dict(current)
        rules = self._rules()
        retriggers: list[Escalation] = []
        pages: list[Page | Notice] = []
        # Incidents read this pass (None: gone), for titles and the pages' summaries:
        # those whose escalation the batch may start, all in one read.
        read = await read_incidents(store, self._starting(batch, current), {})
        for event in batch.events:
            escalation = current.get(event.incident_id)
            title, urgency = "", None
            if escalation is None and event.state is IncidentState.TRIGGERED:
                incident = read.get(event.incident_id)
                if incident is not None:
                    title, urgency = incident.title, incident.urgency
            outcome = on_event(escalation, event, rules, now, title, urgency)
            if outcome.escalation is not None:
                current[event.incident_id] = outcome.escalation
            pages.extend(outcome.pages)

        def fire(key: str, generation: int) -> None:
            """Acts on the escalation's timer of ``generation``, if it is due by now."""
            escalation = current.get(key)
            if escalation is None:
                return  # not an escalation document (nothing else files one here)
            outcome = on_due(escalation, generation, rules, now)
            if outcome.retrigger:
                retriggers.append(escalation)
            if outcome.escalation is not None:
                current[key] = outcome.escalation
            pages.extend(outcome.pages)

        for key, raw in due:
            # The generation the timer was filed with: events of this pass may have
            # bumped the escalation's since, and then the timer is stale.
            fire(key, raw["generation"])
        for key in self._due_now(batch, current, {key for key, _ in due}, now):
            fire(key, current[key].generation)
        for key, escalation in list(current.items()):
            # Updates to those already paged whose group_interval has passed.
            update = on_updates_due(escalation, rules, now)
            if update.escalation is not None:
                current[key] = update.escalation
            pages.extend(update.notices)
        writes = [
            ConsumerWrite(COLLECTION, key, escalation.to_document(), escalation.wake)
            for key, escalation in current.items()
            if before.get(key) != escalation
        ]
        outbox = await self._new_pages(pages, rules, read)
        writes.extend(outbox)
        # Every decision and every new outbox entry goes into the timeline with the commit.
        notes = stage_notes(before, current, outbox, now)
        for escalation in retriggers:
            timeout = escalation.policy.ack_timeout if escalation.policy else None
            if timeout is not None:
                await retrigger(store, escalation.incident_id, timeout, now, rules.lifecycle)
        await store.commit_events(batch, writes, notes)
        self._metrics.observe(notes)
        return len(batch.events) + len(due)

    @staticmethod
    def _starting(batch: EventBatch, current: dict[str, Escalation]) -> list[str]:
        """The incidents of the batch with no escalation yet and a triggered event: their
        escalation may start in this pass, which needs their title and urgency."""
        return list(
            dict.fromkeys(
                e.incident_id
                for e in batch.events
                if e.incident_id not in current and e.state is IncidentState.TRIGGERED
            )
        )

    def _due_now(
        self,
        batch: EventBatch,
        current: dict[str, Escalation],
        fired: set[str],
        now: datetime,
    ) -> list[str]:
        """The incidents of the batch whose next step the batch made due by now (a route's
        ``group_wait: 0s``; a stage behind): they fire in this pass, not in the next one,
        which would find them due, so a first page waits for one commit, not two.

        Not those whose timer this pass fired already, nor the incident of the last event
        of a full batch: more of its events may follow (those of one correlator commit),
        which its first page must come after, as it would in the next pass.
        """
        events = batch.events
        last = events[-1].incident_id if len(events) >= self._limit else None
        found: list[str] = []
        for key in dict.fromkeys(e.incident_id for e in events):
            escalation = current.get(key)
            if escalation is None or key in fired or key == last:
                continue
            if escalation.due is not None and escalation.due <= now:
                found.append(key)
        return found

    async def _new_pages(
        self, pages: list[Page | Notice], rules: Rules, read: dict[str, Incident | None]
    ) -> list[ConsumerWrite]:
        """The outbox entries of ``pages`` not stored yet (their keys are idempotent),
        each with its incident's summary as of now (``escalation.page_summary``)."""
        fresh = await unsent(self._store, pages)
        return await outbox_writes(self._store, fresh, rules, read)

    async def release(self) -> None:
        """Gives up the group's lease, so another member can take over at once."""
        await self._store.release_events(GROUP, self._member)

    async def run(self, idle: timedelta = timedelta(milliseconds=200)) -> None:
        """Runs passes until cancelled, pausing ``idle`` after a pass with nothing to do."""
        try:
            while True:
                handled = await self.step()
                end_if_cancelled()
                if handled == 0:
                    await asyncio.sleep(idle.total_seconds())
        finally:
            await asyncio.shield(self.release())


async def read_incidents(
    store: EscalationStore, ids: Sequence[str], read: dict[str, Incident | None]
) -> dict[str, Incident | None]:
    """``read`` with the incidents of ``ids`` it lacks, read at once (None: gone)."""
    missing = [key for key in dict.fromkeys(ids) if key not in read]
    if missing:
        found = await store.get_incidents(missing)
        read.update((key, found.get(key)) for key in missing)
    return read


async def unsent(store: EscalationStore, pages: Sequence[AnyPage]) -> list[AnyPage]:
    """Those of ``pages`` not in the outbox yet (their keys are idempotent)."""
    if not pages:
        return []
    stored = await store.consumer_documents(OUTBOX, [p.key for p in pages])
    return [p for p in pages if p.key not in stored]


async def outbox_writes(
    store: EscalationStore,
    pages: Sequence[Page | Notice],
    rules: Rules,
    read: dict[str, Incident | None],
) -> list[ConsumerWrite]:
    """The outbox entries of ``pages``, each with its incident's summary as of now
    (``escalation.page_summary``), reading at once the incidents ``read`` lacks."""
    documents = [(p.key, p.to_document(), p.send_at) for p in pages]
    read = await read_incidents(store, [d["incident"] for _, d, _ in documents], read)
    matrix = rules.priority.matrix
    writes: list[ConsumerWrite] = []
    for key, document, send_at in documents:
        incident = read.get(document["incident"])
        if incident is not None:
            document |= summary_fields(incident, matrix)
        writes.append(ConsumerWrite(OUTBOX, key, document, send_at))
    return writes
