"""The status page's one writer: consumes the incident event stream and operator commands.

Consumer group ``statuspage`` of the incident event stream (core.store.events). Each
:meth:`StatusWriter.step` claims a batch (only the member holding the group's lease gets
one, so with Redis exactly one replica writes and builds at a time), takes the operator
commands the status API filed (``records.COMMANDS``), applies both in order
(``statuspage.apply``), and writes every changed document with the cursor, atomically
(``commit_events``): a crash repeats a batch whole or not at all, and a member whose
lease ran out cannot apply a batch twice (StreamConflict, nothing written).

A command carrying an ``Idempotency-Key`` (``commands.with_idempotency_key``) is applied
only if no command with that key acted in the last ``records.IDEMPOTENCY_KEEP``; the one
that acts records the key in the same write (``records.IDEMPOTENCY``), and a retry filed
meanwhile is deleted without acting, so the API answers it with the first one's result.
A creation whose id exists already (ids derived from a key) does not create it twice.

Public incidents come from internal incidents only through the rules
(``status_page.publish``): an open, unmuted, unheld incident whose priority and category
are published and that affects a component of the page gets a public incident, its
title and first update from the rules' public templates, rendered with public variables
only. Its acknowledgement adds an "identified" update, its resolution (or closure) a
"resolved" one, a reopening an "investigating" one, each from the templates.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from core.clock import Clock
from core.incident import OPEN_STATES, IncidentState
from core.store import Store
from core.store.events import ConsumerWrite, EventBatch, StreamConflict, StreamEvent
from core.timestamps import from_micros, micros
from rules.model import Rules
from statuspage import records as rec
from statuspage.apply import PageWork, statuses_from
from statuspage.changelog import Changes as Changes  # re-exported: what a step changed
from statuspage.changelog import advance
from statuspage.commands import MAINTENANCE_OPS, command_key, maintenance_from_command
from statuspage.maintenance import clock_updates
from statuspage.mapping import IMPACT_OF_STATUS, worst
from statuspage.model import ComponentStatus, Impact, MaintenanceStatus, PublicIncidentStatus
from statuspage.records import IncidentRecord, PageState

log = structlog.get_logger("tocsin.statuspage")

GROUP = "statuspage"
LEASE = timedelta(seconds=30)
BATCH = 500
COMMANDS_PER_STEP = 200
# Maintenances from the API kept in the writer's state until this long after their end.
_KEEP_MAINTENANCE = timedelta(days=1)


# Operator commands are filed through a group whose cursor never moves (it consumes no
# event): its commit_events only writes the command document, at once, and cannot conflict.
COMMAND_GROUP = "statuspage-commands"


async def file_command(store: Store, command: dict[str, Any]) -> str:
    """Files an operator command (statuspage.commands) for the writer; returns its key."""
    key = command_key(command)
    write = ConsumerWrite(rec.COMMANDS, key, command, due=from_micros(command["at"]))
    await store.commit_events(EventBatch(COMMAND_GROUP, "api", None), [write])
    return key


async def command_pending(store: Store, key: str) -> bool:
    """Tells whether the writer has not applied the command yet."""
    return bool(await store.consumer_documents(rec.COMMANDS, [key]))


class _FailedCommand(Exception):
    """An operator command that raised while being applied (a bug, or a stored command
    this version cannot read)."""

    def __init__(self, key: str, command: dict[str, Any], error: Exception) -> None:
        super().__init__(key)
        self.key = key
        self.command = command
        self.error = error


async def command_failed(store: Store, key: str) -> str | None:
    """The error of a command the writer set aside, or None."""
    found = await store.consumer_documents(rec.FAILED_COMMANDS, [key])
    return str(found[key]["error"]) if key in found else None


def new_id() -> str:
    """A new public id: random, so it says nothing about the internal incident."""
    return uuid.uuid4().hex[:16]


class StatusWriter:
    """Applies incident events and operator commands to the status page's documents."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], Rules],
        clock: Clock,
        member: str,
        *,
        lease: timedelta = LEASE,
        batch: int = BATCH,
    ) -> None:
        self._store = store
        self._rules = rules
        self._clock = clock
        self.member = member
        self._lease = lease
        self._batch = batch
        # One step at a time in this process (the task and the API both call step).
        self._lock = asyncio.Lock()

    async def step(self) -> Changes | None:
        """Handles one batch and the pending commands; None when another member holds the lease.

        An empty Changes when nothing changed; None also when another member committed
        first (StreamConflict: nothing was written, the next step reads again).
        """
        async with self._lock:
            # Each failing command is set aside and the step done again without it.
            for _ in range(COMMANDS_PER_STEP):
                try:
                    return await self._step()
                except StreamConflict as exc:
                    log.info("status page: another member committed first", error=str(exc))
                    return None
                except _FailedCommand as failed:
                    await self._quarantine(failed)
            return Changes()

    async def _quarantine(self, failed: _FailedCommand) -> None:
        """Moves a command that cannot be applied aside, with its error, and logs it."""
        error = f"{type(failed.error).__name__}: {failed.error}"
        log.error(
            "status page: an operator command failed and was set aside",
            command=failed.key,
            op=failed.command.get("op"),
            error=error,
        )
        document = {"command": failed.command, "error": error[:2000]}
        writes = [
            ConsumerWrite(rec.COMMANDS, failed.key),
            ConsumerWrite(rec.FAILED_COMMANDS, failed.key, document),
        ]
        await self._store.commit_events(EventBatch(COMMAND_GROUP, self.member, None), writes)

    async def release(self) -> None:
        """Gives up the lease, so that another replica takes over at once."""
        await self._store.release_events(GROUP, self.member)

    async def _step(self) -> Changes | None:
        now = self._clock.now()
        store = self._store
        batch = await store.claim_events(
            GROUP, self.member, self._batch, now=now, lease=self._lease
        )
        if batch.holder != self.member:
            return None
        commands = await store.due_documents(rec.COMMANDS, now, COMMANDS_PER_STEP)
        for key, command in commands:
            if not _well_formed(command):
                raise _FailedCommand(key, command, ValueError("not a command this writer knows"))
        used = await _keys_in_use(store, commands, now)
        page_docs = await store.consumer_documents(rec.STATE, [rec.STATE_KEY, rec.CHANGES_KEY])
        state = PageState.decode(page_docs.get(rec.STATE_KEY))
        internal_ids = list(dict.fromkeys(e.incident_id for e in batch.events))
        links: dict[str, dict[str, Any] | None] = dict(
            await store.consumer_documents(rec.LINKS, internal_ids)
        )
        wanted = {str(link["public"]) for link in links.values() if link and link.get("public")}
        wanted.update(str(doc["id"]) for _, doc in commands if doc["op"] in _INCIDENT_OPS)
        records = {
            key: IncidentRecord.decode(raw)
            for key, raw in (await store.consumer_documents(rec.INCIDENTS, sorted(wanted))).items()
        }
        maintenances = {
            key: rec.decode_maintenance(raw)
            for key, raw in (
                await store.consumer_documents(rec.MAINTENANCES, _maintenance_keys(state, commands))
            ).items()
        }
        times = [e.at for e in batch.events] + [from_micros(c["at"]) for _, c in commands]
        work = PageWork(self._rules(), now, state, records, maintenances, min(times, default=now))
        changed_links: set[str] = set()
        for event in batch.events:
            if await self._on_event(work, event, links):
                changed_links.add(event.incident_id)
        key_writes: list[ConsumerWrite] = []
        for key, command in commands:
            given = command.get("idempotency")
            if given is not None and given["key"] in used:
                continue  # a retry of a request that acted: the API answers with that one
            try:
                _on_command(work, command)
            except Exception as exc:  # nothing of this step is written: it is done again
                raise _FailedCommand(key, command, exc) from exc
            if given is not None:
                used[given["key"]] = key
                key_writes.append(_key_record(given, command["id"], key, now))
        if key_writes:
            key_writes += await _expired_keys(store, now, set(used))
        _clock_updates(work, now)
        work.settle(now)
        # A state read without its id key stores the one it made (maintenance.window_id).
        nothing = not (work.changed_components or work.changed_maintenances or state.fresh_key)
        if not batch.events and not commands and nothing:
            return Changes()
        writes = [ConsumerWrite(rec.COMMANDS, key) for key, _ in commands] + key_writes
        writes += [ConsumerWrite(rec.LINKS, key, links.get(key)) for key in sorted(changed_links)]
        writes += [
            ConsumerWrite(
                rec.INCIDENTS,
                key,
                work.records[key].encode(),
                due=rec.newest_first_due(work.records[key].incident.created_at),
            )
            for key in sorted(work.changed_incidents - work.deleted_incidents)
        ]
        writes += [ConsumerWrite(rec.INCIDENTS, key) for key in sorted(work.deleted_incidents)]
        writes += [
            ConsumerWrite(
                rec.MAINTENANCES,
                key,
                rec.encode_maintenance(work.maintenances[key]),
                due=rec.newest_first_due(work.maintenances[key].scheduled_for),
            )
            for key in sorted(work.changed_maintenances - work.deleted_maintenances)
        ]
        writes += [
            ConsumerWrite(rec.MAINTENANCES, key) for key in sorted(work.deleted_maintenances)
        ]
        writes += await self._stretch_writes(work)
        writes.append(ConsumerWrite(rec.STATE, rec.STATE_KEY, _state_document(work, now)))
        changes = Changes(
            frozenset(work.changed_incidents),
            frozenset(work.changed_components),
            frozenset(work.changed_maintenances),
        )
        log_doc = advance(page_docs.get(rec.CHANGES_KEY), changes)
        writes.append(ConsumerWrite(rec.STATE, rec.CHANGES_KEY, log_doc))
        await store.commit_events(batch, writes)
        return changes

    async def _stretch_writes(self, work: PageWork) -> list[ConsumerWrite]:
        """Appends the finished stretches to their components' day documents."""
        by_key: dict[str, list[rec.Stretch]] = {}
        for component, stretch in zip(work.stretch_components, work.stretches, strict=True):
            by_key.setdefault(rec.interval_key(component, stretch[0].date()), []).append(stretch)
        if not by_key:
            return []
        stored = await self._store.consumer_documents(rec.INTERVALS, sorted(by_key))
        return [
            ConsumerWrite(
                rec.INTERVALS,
                key,
                rec.encode_stretches(rec.decode_stretches(stored.get(key)) + pieces),
            )
            for key, pieces in sorted(by_key.items())
        ]

    async def _on_event(
        self, work: PageWork, event: StreamEvent, links: dict[str, dict[str, Any] | None]
    ) -> bool:
        """Applies one incident event; returns whether the incident's link changed."""
        link = links.get(event.incident_id)
        public = link.get("public") if link else None
        if event.state is IncidentState.CLOSED:
            if public is not None:
                _follow(work, str(public), link or {}, event)
            if link is None:
                return False
            links[event.incident_id] = None
            return True
        if public is not None:
            assert link is not None
            links[event.incident_id] = _follow(work, str(public), link, event)
            return True
        if event.state not in OPEN_STATES or event.muted or event.held:
            return False
        if link is not None and link.get("priority") == event.priority:
            return False  # judged at this priority already: not published
        created = await self._publish(work, event)
        links[event.incident_id] = (
            {"public": created, "state": event.state.value, "priority": event.priority}
            if created
            else {"public": None, "priority": event.priority}
        )
        return True

    async def _publish(self, work: PageWork, event: StreamEvent) -> str | None:
        """Creates the public incident of an internal one the rules publish; its id or None."""
        publishing = work.page.publishing
        if publishing.priorities is not None and event.priority not in publishing.priorities:
            return None  # no need to read the incident
        summary = await self._store.incident_summary(event.incident_id)
        if summary is None:
            return None
        incident = summary.incident
        components = [c for c in incident.components if work.page.component(c) is not None]
        if not (incident.public and components):
            return None
        if not publishing.publishes(incident.category, event.priority):
            return None
        status = ComponentStatus(publishing.status_for(event.priority))
        impact = IMPACT_OF_STATUS[status]
        investigating = PublicIncidentStatus.INVESTIGATING.value
        name = work.render("title", components, investigating, impact) or "Service disruption"
        body = work.render("investigating", components, investigating, impact)
        public_id = new_id()
        work.open_incident(
            public_id,
            new_id(),
            event.at,
            name,
            PublicIncidentStatus.INVESTIGATING,
            impact,
            dict.fromkeys(components, status),
            body,
            internal=event.incident_id,
        )
        if event.state is IncidentState.ACKNOWLEDGED:
            _auto_update(work, public_id, event.at, PublicIncidentStatus.IDENTIFIED)
        return public_id


def _follow(
    work: PageWork, public_id: str, link: dict[str, Any], event: StreamEvent
) -> dict[str, Any]:
    """The automatic updates of a public incident as its internal one changes state."""
    before = IncidentState(link.get("state", IncidentState.TRIGGERED.value))
    record = work.records.get(public_id)
    now_state = event.state
    if record is not None and now_state is not before:
        status = record.incident.status
        if now_state in (IncidentState.RESOLVED, IncidentState.CLOSED):
            if record.incident.is_open:
                _auto_update(work, public_id, event.at, PublicIncidentStatus.RESOLVED)
        elif before is IncidentState.RESOLVED and now_state in OPEN_STATES:
            if not record.incident.is_open:
                _reopen(work, record, event)
        elif (
            now_state is IncidentState.ACKNOWLEDGED and status is PublicIncidentStatus.INVESTIGATING
        ):
            _auto_update(work, public_id, event.at, PublicIncidentStatus.IDENTIFIED)
    record = work.records.get(public_id)
    if record is not None and record.incident.is_open and link.get("priority") != event.priority:
        # Its priority was raised (urgency, or a person's change): the components take
        # the worse status the rules give the new one, without an update of its own. A
        # lowered priority changes nothing public: a component must not turn green (and
        # the impact to none) while the incident says it is still on; an operator's
        # update, or its resolution, does that with words.
        status_now = ComponentStatus(work.page.publishing.status_for(event.priority))
        raised = {
            c: status_now
            for c, s in record.statuses.items()
            if s is not status_now and worst([s, status_now]) is status_now
        }
        if raised:
            work.restatus(public_id, event.at, raised)
    return {"public": public_id, "state": now_state.value, "priority": event.priority}


def _auto_update(
    work: PageWork, public_id: str, at: datetime, status: PublicIncidentStatus
) -> None:
    record = work.records[public_id]
    components = record.incident.component_ids
    body = work.render(status.value, components, status.value, record.incident.impact)
    work.add_update(public_id, new_id(), at, status, body)


def _reopen(work: PageWork, record: IncidentRecord, event: StreamEvent) -> None:
    # Its internal incident fired again: investigating, its components as the rules say.
    status = ComponentStatus(work.page.publishing.status_for(event.priority))
    statuses = dict.fromkeys(record.statuses, status)
    investigating = PublicIncidentStatus.INVESTIGATING
    body = work.render(
        investigating.value,
        record.incident.component_ids,
        investigating.value,
        record.incident.impact,
    )
    work.add_update(record.incident.id, new_id(), event.at, investigating, body, statuses)


_OPS = frozenset(
    {
        "create_incident",
        "update_incident",
        "edit_incident",
        "edit_update",
        "delete_update",
        "delete_incident",
        "create_maintenance",
        *MAINTENANCE_OPS,
    }
)
# Commands on an existing public incident: the writer reads it first.
_INCIDENT_OPS = _OPS - {"create_maintenance", *MAINTENANCE_OPS}
# Expired Idempotency-Keys a step that records keys deletes at most.
_KEY_SWEEP = 10


def _well_formed(command: object) -> bool:
    """Whether a stored command has the shape ``statuspage.commands`` gives them."""
    return (
        isinstance(command, dict)
        and command.get("op") in _OPS
        and isinstance(command.get("id"), str)
        and isinstance(command.get("update_id"), str)
        and isinstance(command.get("at"), int)
        and isinstance(command.get("fields"), dict)
        and _well_formed_key(command.get("idempotency", {"key": "", "request": ""}))
    )


def _well_formed_key(given: object) -> bool:
    return (
        isinstance(given, dict)
        and isinstance(given.get("key"), str)
        and isinstance(given.get("request"), str)
    )


async def _keys_in_use(
    store: Store, commands: list[tuple[str, dict[str, Any]]], now: datetime
) -> dict[str, str]:
    """The commands' Idempotency-Keys that acted already (not expired), with the command."""
    keys = sorted({c["idempotency"]["key"] for _, c in commands if "idempotency" in c})
    if not keys:
        return {}
    found = await store.consumer_documents(rec.IDEMPOTENCY, keys)
    return {
        key: str(doc["command"])
        for key, doc in found.items()
        if from_micros(doc["created_at"]) + rec.IDEMPOTENCY_KEEP > now
    }


def _key_record(given: dict[str, str], target: str, command: str, now: datetime) -> ConsumerWrite:
    """Records that the command ``command`` acted for its Idempotency-Key, on ``target``."""
    document = {
        "request": given["request"],
        "id": target,
        "command": command,
        "created_at": micros(now),
    }
    return ConsumerWrite(rec.IDEMPOTENCY, given["key"], document, due=now + rec.IDEMPOTENCY_KEEP)


async def _expired_keys(store: Store, now: datetime, keep: set[str]) -> list[ConsumerWrite]:
    """Deletions of a few expired Idempotency-Keys (not those this step uses or writes)."""
    due = await store.due_documents(rec.IDEMPOTENCY, now, _KEY_SWEEP)
    return [ConsumerWrite(rec.IDEMPOTENCY, key) for key, _ in due if key not in keep]


def _status_map(components: object) -> dict[str, str]:
    # A maintenance's components are a list of names (no statuses); an incident's a map.
    return components if isinstance(components, dict) else {}


def _on_command(work: PageWork, command: dict[str, Any]) -> None:
    """Applies one operator command the status API filed (validated there)."""
    op, fields = command["op"], command["fields"]
    at = from_micros(command["at"])
    known = {c.name for c in work.page.components}
    statuses = {
        k: v for k, v in statuses_from(_status_map(fields.get("components"))).items() if k in known
    }
    if op == "create_incident":
        if command["id"] in work.records:
            return  # an id derived from an Idempotency-Key whose record expired: once only
        work.open_incident(
            command["id"],
            command["update_id"],
            at,
            fields["name"],
            PublicIncidentStatus(fields["status"]),
            Impact(fields["impact"]),
            statuses,
            fields["body"],
        )
    elif op == "update_incident":
        given = statuses if fields.get("components") is not None else None
        status = PublicIncidentStatus(fields["status"])
        work.add_update(command["id"], command["update_id"], at, status, fields["body"], given)
    elif op == "edit_incident":
        impact = None if fields["impact"] is None else Impact(fields["impact"])
        work.edit_incident(command["id"], at, fields["name"], impact)
    elif op == "edit_update":
        work.edit_update(command["id"], fields["update"], at, fields["body"])
    elif op == "delete_update":
        work.delete_update(command["id"], fields["update"], at)
    elif op == "delete_incident":
        work.delete_incident(command["id"], at)
    elif op == "create_maintenance":
        if command["id"] in work.maintenances:
            return  # as a public incident's, above
        work.put_maintenance(maintenance_from_command(command, known), at)
    elif op == "update_maintenance":
        step = MaintenanceStatus(fields["status"])
        work.update_maintenance(command["id"], command["update_id"], at, step, fields["body"])
    elif op in MAINTENANCE_OPS:
        work.maintenance_command(command)


def _clock_updates(work: PageWork, now: datetime) -> None:
    """Gives the API's maintenances the updates their times bring: in progress at the
    start, completed at the end (``statuspage.maintenance.clock_updates``)."""
    for key in sorted(work.maintenances):
        maintenance = work.maintenances[key]
        names = ", ".join(
            c.display_name
            for n in maintenance.component_ids
            if (c := work.page.component(n)) is not None
        )
        for at, status, body in clock_updates(maintenance, names, now):
            work.update_maintenance(key, new_id(), at, status, body)


def _maintenance_keys(state: PageState, commands: list[tuple[str, dict[str, Any]]]) -> list[str]:
    keys = set(state.maintenances)
    ops = {"create_maintenance", *MAINTENANCE_OPS}
    keys.update(str(doc["id"]) for _, doc in commands if doc["op"] in ops)
    return sorted(keys)


def _state_document(work: PageWork, now: datetime) -> dict[str, Any]:
    # The API's maintenances stay in the state while they may still matter to components.
    work.state.maintenances = {
        key: m.scheduled_until
        for key, m in work.maintenances.items()
        if m.status is not MaintenanceStatus.COMPLETED
        and m.scheduled_until + _KEEP_MAINTENANCE > now
    }
    return work.state.encode()


def local_day(now: datetime, rules: Rules) -> date:
    """Today in the page's time zone (the site rebuilds when it changes)."""
    return now.astimezone(rules.status_page.time_zone).date()
