"""Storage protocols in domain terms, and the factory that opens a backend by URL.

Two backends implement every protocol here and pass one contract suite
(``tests/contract``): SQLite (the embedded default) and Redis (for several
Tocsin processes). Code outside this package sees only the protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.direct_init import direct_init
from core.errors import StoreError
from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState
from core.model import Alert, LogEntry
from core.silence import Silence
from core.store.events import ConsumerWrite, IncidentEventStream, TimelineNote
from core.store.problems import ProblemStore


class AlertLog(Protocol):
    """The durable, ordered log of every alert Tocsin accepted."""

    async def append(self, alerts: Sequence[Alert]) -> None:
        """Appends alerts in order; when this returns they are durable.

        Raises StoreUnavailable when the store cannot take them now.
        """
        ...

    async def read(self, after: str | None, limit: int) -> list[LogEntry]:
        """Returns up to ``limit`` entries that follow cursor ``after`` (None: the start)."""
        ...


class CursorStore(Protocol):
    """Where each consumer of a log remembers how far it has read."""

    async def load_cursor(self, consumer: str) -> str | None:
        """Returns the consumer's saved cursor, or None if it never saved one."""
        ...

    async def save_cursor(self, consumer: str, cursor: str) -> None:
        """Saves the consumer's cursor durably."""
        ...


class LogConsumer(Protocol):
    """Hands out alert log entries to the members of a consumer group (e.g. correlators).

    Each entry goes to one member; an entry stays claimed by it until a commit consumes
    it. A member restarting under the same name first gets the entries it had claimed
    and not consumed. SQLite allows one member per group; Redis any number.
    """

    async def claim(
        self, group: str, member: str, limit: int, *, after: str | None = None
    ) -> list[LogEntry]:
        """Returns up to ``limit`` entries for ``member`` of ``group``, oldest first.

        ``after`` is the last position of a batch this member claimed and is committing
        right now: the entries come after it, as they will once that commit landed,
        and none the member claimed before is handed out again. Without it, those come
        first (see above).
        """
        ...


class VersionConflict(StoreError):
    """Another writer changed an incident or a group first; re-read and try again."""


@dataclass(frozen=True, slots=True)
class GroupHead:
    """Moves a group's pointer to its current incident, if it still points where expected."""

    group_key: str
    expected: str | None
    incident_id: str


@dataclass(frozen=True, slots=True)
class IncidentAlertWrite:
    """One alert of an incident that a commit writes: new to the incident, or changed."""

    incident_id: str
    alert: IncidentAlert


# IncidentAlertWrite(incident_id, alert), built directly: a storm step writes thousands.
new_alert_write: Callable[[str, IncidentAlert], IncidentAlertWrite] = direct_init(
    IncidentAlertWrite
)


def every_alert(*incidents: Incident) -> tuple[IncidentAlertWrite, ...]:
    """Returns a write for each alert of the incidents: what a new incident commits."""
    return tuple(
        IncidentAlertWrite(incident.id, alert)
        for incident in incidents
        for alert in incident.alerts.values()
    )


@dataclass(frozen=True, slots=True)
class CorrelationCommit:
    """Everything one step of a consumer changes, written all or nothing.

    Each incident carries its new version, one more than the version it was read at
    (1 for a new incident); if any stored version differs, or a group head is not what
    ``GroupHead.expected`` says, nothing is written and VersionConflict is raised.
    ``consumed`` are the log positions this step has dealt with (cursor or XACK).
    ``counts`` gives (incident id, alerts, firing) for incidents written without their
    alerts (read as summaries, ``IncidentStore.incident_summary``): the stores keep
    those counts for them rather than count ``incident.alerts`` (:meth:`counts_of`).
    ``documents`` are written in the same transaction, in the consumer documents'
    collections (core.store.events, ``consumer_documents``): e.g. the operator API's
    idempotency keys, so that a change and the record that it was made land together.
    ``events`` go to the incidents' timelines and, in the same write, to the incident
    event stream (core.store.events), each with its incident as written here: every
    event must belong to one of ``incidents``, or ValueError. ``notes``
    (core.store.events.TimelineNote) join their incidents' timelines after the events,
    in the same write, without a version or a stream entry; a note's incident need not
    be written here, and a note of an incident that does not exist is dropped.

    The stores keep an incident's alerts apart from it, so that a commit costs what
    changed rather than what the incident holds: ``alerts`` lists the alerts to write,
    those new to their incident or changed since it was read (:func:`every_alert` for a
    new one). The store writes each incident's own fields and these alerts only; an
    alert not listed keeps what is stored for it. Alerts are never removed. Each write
    must name an incident of ``incidents`` and the very alert it holds, or ValueError.
    """

    group: str
    incidents: tuple[Incident, ...] = ()
    heads: tuple[GroupHead, ...] = ()
    events: tuple[IncidentEvent, ...] = ()
    consumed: tuple[str, ...] = ()
    alerts: tuple[IncidentAlertWrite, ...] = ()
    documents: tuple[ConsumerWrite, ...] = ()
    counts: tuple[tuple[str, int, int], ...] = ()
    notes: tuple[TimelineNote, ...] = ()

    def counts_of(self, incident: Incident) -> tuple[int, int]:
        """The (alerts, firing) counts the stores keep for ``incident`` as this commit writes it."""
        for incident_id, alerts, firing in self.counts:
            if incident_id == incident.id:
                return alerts, firing
        return len(incident.alerts), incident.firing_count()

    def __post_init__(self) -> None:
        # Each event goes to the incident event stream with its incident as written here
        # (core.store.events): an event of an incident not written would have none.
        if self.events:
            written = {incident.id for incident in self.incidents}
            for event in self.events:
                if event.incident_id not in written:
                    raise ValueError(f"event of incident {event.incident_id}, which is not written")
        # An alert written apart from its incident's version check could overwrite a
        # newer one unseen; one that differs from its incident would read back changed.
        if not self.alerts:
            return
        incidents = {incident.id: incident for incident in self.incidents}
        for write in self.alerts:
            incident = incidents.get(write.incident_id)
            if incident is None:
                raise ValueError(f"alert for incident {write.incident_id}, which is not written")
            held = incident.alerts.get(write.alert.fingerprint)
            if held is not write.alert and held != write.alert:
                raise ValueError(
                    f"alert {write.alert.fingerprint} is not the one incident "
                    f"{write.incident_id} holds"
                )


# The group of :func:`incident_change`'s commits: they consume no alert log entry.
OPERATOR_GROUP = "operator"


def incident_change(
    incident: Incident,
    *events: IncidentEvent,
    documents: tuple[ConsumerWrite, ...] = (),
    counts: tuple[int, int] | None = None,
) -> CorrelationCommit:
    """Returns the commit of a person's change to one incident, with its timeline events.

    ``incident`` carries its new version, one more than it was read at: ``commit``
    refuses it with VersionConflict if another writer came first, and otherwise writes
    the incident, its events and their entries in the incident event stream
    (core.store.events), and ``documents``, atomically. The incident's alerts are left
    as stored: it carries them all, or ``counts`` gives (alerts, firing) as its summary
    said (an incident read without its alerts).
    """
    kept = () if counts is None else ((incident.id, *counts),)
    return CorrelationCommit(
        OPERATOR_GROUP, incidents=(incident,), events=events, documents=documents, counts=kept
    )


@dataclass(frozen=True, slots=True)
class ListPosition:
    """A place in the newest-first order of incidents: an opening time and an id.

    A page that starts after it holds the incidents opened earlier, or at the same
    instant with a smaller id. Incidents never change their opening time, so a walk by
    positions neither repeats nor skips one while others are added.
    """

    opened_at: datetime
    incident_id: str


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    """Which incidents to list: by their fields, opening time, title and sweep time.

    Every filter given must hold (None: any). ``states`` and ``priorities`` select any
    of their values; ``service``, ``team``, ``category`` and ``assignee`` one value.
    ``title_contains`` selects titles holding it, compared casefolded (``str.casefold``).
    ``opened_after`` includes its instant, ``opened_before`` excludes it; ``after``
    selects the incidents after that position (:class:`ListPosition`, a page's cursor).
    ``sweep_due_by`` selects the incidents whose ``sweep_at`` is set and not after that
    instant, the work of the correlator's sweep, which the stores find through an index
    rather than by reading every open incident.

    Newest first by opening time, then id, descending; with ``sweep_due_by``, most
    overdue first: by ``sweep_at``, then id, ascending, so that a ``limit`` keeps the
    incidents that have waited longest. ``limit`` counts incidents selected.
    """

    states: frozenset[IncidentState] | None = None
    service: str | None = None
    opened_after: datetime | None = None
    opened_before: datetime | None = None
    sweep_due_by: datetime | None = None
    limit: int = 100
    priorities: frozenset[str] | None = None
    team: str | None = None
    category: str | None = None
    assignee: str | None = None
    title_contains: str | None = None
    after: ListPosition | None = None

    def selects(self, incident: Incident) -> bool:
        """Tells whether the incident passes every filter of the query."""
        fields = (
            (self.service, incident.service),
            (self.team, incident.team),
            (self.category, incident.category),
            (self.assignee, incident.assignee),
        )
        if any(wanted is not None and wanted != held for wanted, held in fields):
            return False
        if self.states is not None and incident.state not in self.states:
            return False
        if self.priorities is not None and incident.priority not in self.priorities:
            return False
        if self.opened_after is not None and incident.opened_at < self.opened_after:
            return False
        if self.opened_before is not None and incident.opened_at >= self.opened_before:
            return False
        if self.after is not None and (incident.opened_at, incident.id) >= (
            self.after.opened_at,
            self.after.incident_id,
        ):
            return False
        wanted_title = self.title_contains
        if wanted_title is not None and wanted_title.casefold() not in incident.title.casefold():
            return False
        due = self.sweep_due_by
        return due is None or (incident.sweep_at is not None and incident.sweep_at <= due)


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """One page of an incident list: summaries, and where the next page starts.

    ``next`` is None when no incident follows. A page may hold fewer than the query's
    limit and still have a ``next``: a store that bounds the work of one page (Redis,
    filtering on a title) stops where its bound ran out.
    """

    summaries: list[IncidentSummary]
    next: ListPosition | None


@dataclass(frozen=True, slots=True)
class IncidentDocuments:
    """An incident (without its alerts) and its alerts as stored documents, by fingerprint.

    See :func:`core.codec.decode_incident_documents`: what a reader of every open alert
    needs, at a fraction of the cost of decoding the alerts. ``alerts`` is None when the
    reader said it holds this version of the incident already (``known``).
    """

    incident: Incident
    alerts: Mapping[str, dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class IncidentAlertBodies:
    """An incident (without its alerts) and its alerts' stored bodies, still encoded.

    For a reader of every open alert that decodes them itself, one body at a time
    (:func:`core.codec.alert_documents`), off the event loop: 100,000 documents decoded
    at once are 200,000 containers that the cyclic collector then walks in one pass.
    Each body is one alert document or a batch of them; a later document for a
    fingerprint replaces an earlier one. ``bodies`` is None when the reader said it
    holds this version of the incident already (``known``).
    """

    incident: Incident
    bodies: list[bytes] | None


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """An incident without its alerts, and the counts of its alerts: what a list shows.

    The stores keep the counts beside the incident, written by each commit, so that a
    list of storm incidents decodes none of their alerts.
    """

    incident: Incident
    alerts: int
    firing: int

    @property
    def resolved(self) -> int:
        """How many of its alerts are resolved."""
        return self.alerts - self.firing


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of an incident's alerts by fingerprint, and some alerts asked for by name.

    ``alerts`` are the first ``limit`` whose fingerprint sorts after the cursor, in
    fingerprint order; ``more`` says whether any follow. ``named`` holds those of the
    fingerprints asked for that the incident has (a timeline page's, for their labels).
    """

    alerts: list[IncidentAlert]
    more: bool
    named: dict[str, IncidentAlert]


class IncidentStore(Protocol):
    """Incidents, their timelines and the head incident of each group."""

    async def incident_summaries(self, query: IncidentQuery) -> list[IncidentSummary]:
        """Returns what ``list_incidents`` returns, as summaries: no alert is decoded.

        The counts of an incident last written before they were kept are worked out
        once, when first read, and kept.
        """
        ...

    async def count_open_incidents(
        self, priorities: Sequence[str]
    ) -> dict[tuple[IncidentState, str | None], int]:
        """Counts the open incidents by state and priority through the list indexes.

        No incident is read. A priority not among ``priorities`` (or none) counts under
        None; pairs with no incident are left out.
        """
        ...

    async def incident_summary(self, incident_id: str) -> IncidentSummary | None:
        """Returns the incident without its alerts, and their counts; or None."""
        ...

    async def incident_page(self, query: IncidentQuery) -> IncidentPage:
        """Returns a page of ``incident_summaries`` and where the next one starts.

        Through an index of each filter (state, priority, service, team, category,
        assignee) ordered by opening time: a page costs what it selects, not what the
        store holds. Not for sweep queries (``sweep_due_by``): ValueError.
        """
        ...

    async def incident_alert_page(
        self, incident_id: str, after: str, limit: int, named: Collection[str] = ()
    ) -> AlertPage:
        """Returns the incident's alerts whose fingerprint sorts after ``after``, ``limit``
        at most, and those of ``named``, without holding all its alerts at once.

        An unknown incident has none.
        """
        ...

    async def incident_events_page(
        self, incident_id: str, start: int, limit: int
    ) -> tuple[list[IncidentEvent], int]:
        """Returns ``limit`` timeline events from position ``start``, and how many there are."""
        ...

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident, or None."""
        ...

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        """Returns those of the incidents that exist, by id, in one read (one snapshot)."""
        ...

    async def incident_for_group(self, group_key: str) -> Incident | None:
        """Returns the group's head incident (its latest), or None if it never had one."""
        ...

    async def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Returns the incidents the query selects, in the query's order."""
        ...

    async def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        """Returns the incident's timeline, oldest first."""
        ...

    async def open_incident_documents(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentDocuments]:
        """Returns every open incident with its alerts as documents, newest first.

        The order and the incidents of ``list_incidents`` with the open states and no
        limit; the alerts are left as stored (:class:`IncidentDocuments`), decoded off
        the event loop where the backend reads off it. ``known`` maps incident ids to
        the versions the caller holds: those incidents come without their alerts (every
        change of an alert makes a new version), so a reader that keeps what it read
        reads again only what changed.
        """
        ...

    async def open_incident_alert_bodies(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentAlertBodies]:
        """Returns what ``open_incident_documents`` does, the alerts left encoded."""
        ...

    async def commit(self, commit: CorrelationCommit) -> None:
        """Writes the commit atomically; raises VersionConflict if another writer came first."""
        ...


class SilenceStore(Protocol):
    """Silences created by operators."""

    async def save_silence(self, silence: Silence) -> None:
        """Creates or replaces the silence with this id."""
        ...

    async def get_silence(self, silence_id: str) -> Silence | None:
        """Returns the silence, or None."""
        ...

    async def list_silences(self) -> list[Silence]:
        """Returns every silence, expired ones included, newest first."""
        ...

    async def silences_revision(self) -> str:
        """Returns a token that changes whenever a silence is saved or deleted.

        Cheap to read, so that a reader (the correlator, every step) reads and compiles
        the silences again only when they changed. "" if they never changed.
        """
        ...

    async def count_silences(self) -> int:
        """Returns how many silences are stored, expired ones included."""
        ...

    async def delete_expired_silences(self, ended_before: datetime) -> int:
        """Deletes the silences whose end is before ``ended_before``; returns how many."""
        ...


class AlertEnds(Protocol):
    """The latest end each sender gave a firing alert, kept beside the log.

    Ingest does not log an unchanged resend again, but the later ``endsAt`` it carries
    still counts: ingest records it here (in the group commit of its appends), and the
    correlator's sweep looks here before it expires an alert whose logged end passed.
    An alert therefore expires at the latest end its sender sent, as in Alertmanager.
    """

    async def extend_ends(self, ends: Mapping[str, datetime]) -> None:
        """Records each fingerprint's end unless a later one is recorded; durable on return."""
        ...

    async def latest_ends(self, fingerprints: Collection[str]) -> dict[str, datetime]:
        """Returns the recorded end of each of ``fingerprints`` that has one."""
        ...

    async def forget_ends(self, before: datetime) -> None:
        """Deletes the recorded ends earlier than ``before`` (they can extend nothing)."""
        ...


class StoreIdentity(Protocol):
    """Tells whether the store still holds what it held: a token per life of its data."""

    async def identity(self) -> str:
        """Returns a token that stays the same while the store keeps its data.

        A store that lost its data (a Redis restarted without persistence, flushed, or
        replaced by a failover) answers a new token, so that a cache of what the store
        holds (ingest's duplicate filter) knows to forget itself. A new token may also
        come when nothing was lost (a Redis restart with AOF); forgetting then only costs
        a write of each alert's next copy.
        """
        ...


class LeaseStore(Protocol):
    """Named leases that let one of several processes own a piece of work for a while."""

    async def hold_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Takes or renews the lease for ``ttl_seconds``; returns whether ``holder`` owns it.

        SQLite serves one process, which always owns every lease.
        """
        ...

    async def release_lease(self, name: str, holder: str) -> None:
        """Gives the lease up if ``holder`` has it, so another member may take it at once."""
        ...

    async def live_members(self, group: str, member: str, ttl_seconds: float) -> list[str]:
        """Announces ``member`` alive in ``group`` for ``ttl_seconds``; returns all, sorted.

        Members use the count to take only their fair share of a group's leases.
        """
        ...


class Store(
    AlertLog,
    AlertEnds,
    StoreIdentity,
    CursorStore,
    LogConsumer,
    IncidentStore,
    IncidentEventStream,
    SilenceStore,
    LeaseStore,
    ProblemStore,
    Protocol,
):
    """Everything Tocsin keeps, behind one connection to one backend."""

    async def open(self) -> None:
        """Connects to the backend and creates what it needs; call once before use."""
        ...

    async def ping(self) -> None:
        """Returns if the store can serve requests now; raises StoreUnavailable if not."""
        ...

    async def close(self) -> None:
        """Finishes pending writes and releases the backend's resources."""
        ...
