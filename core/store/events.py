"""The incident event stream: every change of every incident, in one durable order.

Every write of an incident (a correlation step, or a person's change through
:func:`core.store.incident_change`) appends its timeline events to the stream in the
same atomic write as the incident itself: an event is in the stream if and only if its
change is stored. Each stream event carries what the escalation stage and the status
page decide on (the incident's version, state, priority, mute and hold, policy, team,
assignee and service) as that write stored them, so that they follow incidents without
reading each one again. All events of one write carry the same snapshot: the incident
after the whole write.

Consumers read the stream through consumer groups. A group has one cursor (the last
position it consumed) and one lease: :meth:`IncidentEventStream.claim_events` gives the
events after the cursor to the member that holds the lease, or takes it when it is free
or expired, and an empty batch to the others, so that one member works at a time and
each incident's events are handled in order. A member that stops (or is killed) loses
nothing: the cursor did not move, and whoever holds the lease next (the same member
restarted at once, another one once the lease expired) claims the same events again.

:meth:`IncidentEventStream.commit_events` writes the consumer's own effects
(:class:`ConsumerWrite`, documents in named collections) and moves the cursor past the
batch, all or nothing, if the cursor is still where the batch started: a member whose
lease expired while it worked cannot apply a batch twice (:class:`StreamConflict`).
Effects plus cursor in one write make every event's effects happen exactly once.

Consumers also write :class:`TimelineNote` entries with their cursor (``notes``; and
``CorrelationCommit.notes`` for a document-only commit such as delivery's): what the
escalation stage decided, what delivery sent. A note joins its incident's timeline in
the same atomic write, but it changes neither the incident nor its version, and it is
not an event of the stream: no consumer sees notes, its own or another's. A note of an
incident that does not exist is dropped.

Retention: :meth:`IncidentEventStream.trim_events` deletes the oldest events, those that
every group has consumed, up to the first one written at or after a given instant (a
group whose lease ended before that instant is abandoned and does not count; with no
group, only the instant counts); the correlator's full sweep trims what is older than
``correlate.engine.KEEP_INCIDENT_EVENTS``. The timeline
(``IncidentStore.incident_events``) is kept apart and is never trimmed. A group that
never claimed starts at the oldest event kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from core.codec import decode_event
from core.errors import StoreError
from core.incident import Incident, IncidentEvent, IncidentState


class StreamConflict(StoreError):
    """The group's cursor moved since the batch was claimed: its effects were not written."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One incident change as the stream hands it out.

    ``position`` orders the stream (an opaque token: SQLite's row number, a Redis stream
    ID); the event's fields follow; from ``version`` on, the incident's fields after the
    write that recorded the event.
    """

    position: str
    incident_id: str
    kind: str
    at: datetime
    actor: str
    detail: Mapping[str, Any]
    version: int
    state: IncidentState
    priority: str | None
    muted: bool
    held: bool
    policy: str | None
    team: str | None
    assignee: str | None
    service: str | None

    @property
    def event(self) -> IncidentEvent:
        """The timeline event this stream event carries."""
        return IncidentEvent(self.incident_id, self.at, self.actor, self.kind, self.detail)


def encode_snapshot(incident: Incident) -> bytes:
    """Returns the incident's fields a stream event carries besides version and state."""
    return orjson.dumps(
        {
            "priority": incident.priority,
            "muted": incident.muted,
            "held": incident.held,
            "policy": incident.policy,
            "team": incident.team,
            "assignee": incident.assignee,
            "service": incident.service,
        }
    )


def decode_stream_event(
    position: str, event: bytes | str, version: int, state: str, snapshot: bytes | str
) -> StreamEvent:
    """Returns the stream event a store kept as a timeline event and a snapshot."""
    timeline = decode_event(event)
    fields = orjson.loads(snapshot)
    return StreamEvent(
        position,
        timeline.incident_id,
        timeline.kind,
        timeline.at,
        timeline.actor,
        timeline.detail,
        version,
        IncidentState(state),
        fields["priority"],
        fields["muted"],
        fields["held"],
        fields["policy"],
        fields["team"],
        fields["assignee"],
        fields["service"],
    )


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events claimed by one member of a group, after the group's cursor ``after``.

    Empty when another member holds the group's lease, or nothing is new. ``holder``
    is who holds the lease (this member when it got the events).
    """

    group: str
    member: str
    after: str | None
    events: tuple[StreamEvent, ...] = ()
    holder: str | None = None

    @property
    def last(self) -> str | None:
        """The position the cursor moves to when the batch is committed (None: no move)."""
        return self.events[-1].position if self.events else None


@dataclass(frozen=True, slots=True)
class TimelineNote:
    """A consumer's entry in an incident's timeline, written with its cursor.

    Read back as a timeline event (``IncidentStore.incident_events``) of ``kind``; the
    kinds and their ``detail`` fields are documented in escalation.timeline. Not an
    incident change: no version moves and the incident event stream does not carry it.
    """

    incident_id: str
    kind: str
    at: datetime
    actor: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> IncidentEvent:
        """The timeline event the note is stored as."""
        return IncidentEvent(self.incident_id, self.at, self.actor, self.kind, self.detail)


@dataclass(frozen=True, slots=True)
class ConsumerWrite:
    """One document a consumer writes with its cursor: set, or deleted when None.

    Documents live in named collections (e.g. ``escalation``), by key (e.g. an incident
    id): consumers keep their own state there without knowing which store runs. ``due``
    files the document under that time (an escalation's next step), found again by
    :meth:`IncidentEventStream.due_documents`; None files it under none.
    """

    collection: str
    key: str
    document: Mapping[str, Any] | None = field(default=None)
    due: datetime | None = None


class IncidentEventStream(Protocol):
    """The incident event stream and its consumer groups (see the module docstring)."""

    async def claim_events(
        self, group: str, member: str, limit: int, *, now: datetime, lease: timedelta
    ) -> EventBatch:
        """Returns up to ``limit`` events after the group's cursor, oldest first.

        Only to the member holding the group's lease: it takes or renews it until
        ``now + lease`` when it is free, expired at ``now``, or its own. Another member
        gets an empty batch naming the holder.
        """
        ...

    async def commit_events(
        self,
        batch: EventBatch,
        writes: Sequence[ConsumerWrite] = (),
        notes: Sequence[TimelineNote] = (),
    ) -> None:
        """Writes ``writes`` and ``notes`` and moves the cursor to ``batch.last``, atomically.

        Raises StreamConflict, writing nothing, if the cursor is no longer
        ``batch.after`` (another member committed meanwhile). Each note is appended to
        its incident's timeline (dropped if there is no such incident) without changing
        the incident or entering the stream.
        """
        ...

    async def release_events(self, group: str, member: str) -> None:
        """Gives up the group's lease if ``member`` holds it, for another to take at once."""
        ...

    async def event_cursor(self, group: str) -> str | None:
        """Returns the group's cursor: the last position it committed, None if none."""
        ...

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Returns the documents of ``collection`` stored under ``keys`` (absent: left out)."""
        ...

    async def due_documents(
        self,
        collection: str,
        by: datetime,
        limit: int,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Returns up to ``limit`` (key, document) of the collection due by ``by``.

        Most overdue first (by due time, then key), found through an index, not a scan;
        with ``after`` (a due time and a key), only those after that place in the order
        (a page that starts where the previous one ended, whatever was added before it).
        """
        ...

    async def trim_events(self, written_before: datetime) -> int:
        """Deletes the oldest events every group consumed, up to one written at or after then.

        Returns how many it deleted. SQLite dates an event by its ``at``; Redis by its
        stream ID (the Redis server's clock when it was written).
        """
        ...
