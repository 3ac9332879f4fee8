"""``LiveSnapshot``: the site's snapshot kept in memory and refreshed by what changed.

``build_snapshot`` reads every public incident (10,000 of them cost about a second to
read and decode) and every component's 90 days. A site that is rebuilt after each
writer step does not need to: told the step's ``Changes`` (``statuspage.writer``), this
re-reads the writer's state document, the incidents and maintenances named, and the
90-day history of only the components whose history can have moved: those the step
changed, those the changed incidents are on, and those not operational (their current
stretch grows with the clock). The other components only gained observed time today:
their last day and uptime move on without a read (``availability.advance``). The rest
(the cheap, clock-driven parts: component statuses, maintenances' effective statuses,
the rules' windows, the indicator) is worked out again from what is held.

A full read happens on the first call, on ``Changes(everything=True)``, when the rules
object changes (a reload) and when the page's local day changes (every bar moves).
"""

from __future__ import annotations

import bisect
from datetime import date, datetime

from core.store import Store
from core.timestamps import micros
from rules.model import Rules
from statuspage import records as rec
from statuspage.availability import Today, advance
from statuspage.changelog import Changes
from statuspage.model import (
    ComponentHistory,
    ComponentStatus,
    PublicIncident,
    PublicMaintenance,
    StatusSnapshot,
)
from statuspage.records import IncidentRecord
from statuspage.snapshot import (
    HISTORY_LIMIT,
    assemble,
    current_components,
    read_page,
    read_state,
    read_tallies,
)


def _order_key(record: IncidentRecord) -> tuple[int, str]:
    # The store's order (statuspage.records.newest_first_due): newest created first.
    return (-micros(record.incident.created_at), record.incident.id)


class LiveSnapshot:
    """A page's snapshot, refreshed from the store with each ``Changes``."""

    def __init__(self, *, history_limit: int = HISTORY_LIMIT) -> None:
        self._limit = history_limit
        self._rules: Rules | None = None
        self._day: date | None = None
        self._records: dict[str, IncidentRecord] = {}
        self._order: list[str] = []  # public ids, newest first
        self._incidents: list[PublicIncident] = []  # the same order, for the snapshot
        self._open: set[str] = set()
        self._on: dict[str, set[str]] = {}  # component id -> ids of incidents on it
        self._stored: dict[str, PublicMaintenance] = {}
        self._histories: dict[str, ComponentHistory] = {}
        self._today: dict[str, Today] = {}
        self._moving: set[str] = set()  # components with a current stretch last time
        self.full_reads = 0

    async def refresh(
        self, store: Store, rules: Rules, now: datetime, changes: Changes
    ) -> StatusSnapshot:
        """The snapshot at ``now`` after ``changes``: read whole, or only what changed."""
        today = now.astimezone(rules.status_page.time_zone).date()
        if changes.everything or rules is not self._rules or today != self._day:
            return await self._full(store, rules, now, today)
        state = await read_state(store)
        await self._reread_incidents(store, changes.incidents)
        if changes.maintenances:
            found = await store.consumer_documents(rec.MAINTENANCES, sorted(changes.maintenances))
            for key, raw in found.items():
                self._stored[key] = rec.decode_maintenance(raw)
            for key in changes.maintenances - found.keys():  # deleted by an operator
                self._stored.pop(key, None)
        open_records = [self._records[i] for i in self._open]
        components = current_components(rules, state, open_records, self._stored.values(), now)
        touched = set(changes.components) | self._moving
        for public_id in changes.incidents:
            record = self._records.get(public_id)
            if record is not None:
                touched.update(record.incident.component_ids)
        moving = {c for c, (status, _, _) in state.components.items() if status is not _OK}
        touched |= moving
        self._moving = moving
        incidents = tuple(self._incidents)
        chosen = [c for c in components if c.id in touched]
        if chosen:
            ids = set().union(*(self._on.get(c.id, ()) for c in chosen))
            involved = [
                self._records[i].incident
                for i in sorted(ids, key=lambda i: _order_key(self._records[i]))
            ]
            page = rules.status_page
            for made, tally in await read_tallies(store, page, state, chosen, involved, now):
                self._histories[made.component_id] = made
                self._today[made.component_id] = tally
        # The others recorded nothing since: only their observed time grew.
        histories = tuple(
            self._histories[c.id]
            if c.id in touched
            else advance(self._histories[c.id], self._today[c.id], now)
            for c in components
        )
        opened = [r.incident for r in open_records]
        stored = self._stored.values()
        return assemble(
            rules, stored, components, incidents, opened, histories, now, id_key=state.id_key
        )

    async def _full(self, store: Store, rules: Rules, now: datetime, today: date) -> StatusSnapshot:
        data = await read_page(store, self._limit)
        self.full_reads += 1
        self._rules, self._day = rules, today
        self._records = {r.incident.id: r for r in data.records}
        self._order = [r.incident.id for r in data.records]
        self._incidents = [r.incident for r in data.records]
        self._open = {r.incident.id for r in data.records if r.incident.is_open}
        self._on = {}
        for record in data.records:
            self._index(record)
        self._stored = {m.id: m for m in data.stored}
        open_records = [self._records[i] for i in self._open]
        components = current_components(rules, data.state, open_records, data.stored, now)
        incidents = tuple(r.incident for r in data.records)
        page = rules.status_page
        tallies = await read_tallies(store, page, data.state, components, incidents, now)
        histories = tuple(h for h, _ in tallies)
        self._histories = {h.component_id: h for h in histories}
        self._today = {h.component_id: t for h, t in tallies}
        self._moving = {
            c for c, (status, _, _) in data.state.components.items() if status is not _OK
        }
        opened = [r.incident for r in open_records]
        return assemble(
            rules,
            data.stored,
            components,
            incidents,
            opened,
            histories,
            now,
            id_key=data.state.id_key,
        )

    async def _reread_incidents(self, store: Store, ids: frozenset[str]) -> None:
        """Replaces the changed incidents with what the store holds now, in order."""
        if not ids:
            return
        found = await store.consumer_documents(rec.INCIDENTS, sorted(ids))
        for key, raw in found.items():
            record = IncidentRecord.decode(raw)
            if key not in self._records:
                place = bisect.bisect_left(
                    self._order, _order_key(record), key=lambda i: _order_key(self._records[i])
                )
                self._order.insert(place, key)
                self._incidents.insert(place, record.incident)
            else:
                # In place: an incident keeps its creation time, hence its position.
                self._incidents[self._order.index(key)] = record.incident
            self._records[key] = record
            self._index(record)
            if record.incident.is_open:
                self._open.add(key)
            else:
                self._open.discard(key)
        for key in sorted(ids - found.keys()):  # deleted by an operator
            self._forget(key)
        while len(self._order) > self._limit:
            dropped = self._order.pop()
            self._incidents.pop()
            gone = self._records.pop(dropped, None)
            self._open.discard(dropped)
            for component in gone.incident.component_ids if gone else ():
                self._on.get(component, set()).discard(dropped)

    def _forget(self, key: str) -> None:
        gone = self._records.pop(key, None)
        if gone is None:
            return
        del self._incidents[self._order.index(key)]
        self._order.remove(key)
        self._open.discard(key)
        for component in gone.incident.component_ids:
            self._on.get(component, set()).discard(key)

    def _index(self, record: IncidentRecord) -> None:
        # An incident's components only grow (updates add, never remove, components).
        for component in record.incident.component_ids:
            self._on.setdefault(component, set()).add(record.incident.id)


_OK = ComponentStatus.OPERATIONAL
