"""SQL for incidents, their timelines, group heads and silences in the SQLite store.

An incident's row holds its own fields. Its alerts are in ``incident_alert_batch``:
each commit that changes some of them adds one row with those alerts' documents (a
JSON array), and reading the incident merges its rows in order, a later document for
a fingerprint replacing an earlier one. A storm step thus writes one row per incident,
not one per alert: rows of their own, each under a unique (incident, fingerprint)
index entry, cost five times as much to write. The incident row counts the documents
in its batches (``alert_documents``); once they outnumber its alerts twice over, the
commit merges the batches into one, so that reading stays proportional to the
alerts. Its ``sweep_at`` column, indexed where set, lists the incidents the
correlator's sweep must look at.

Databases of an earlier Tocsin are brought up to date by ``sqlite_migrations``.
:class:`CommitRows` runs inside the store's writer thread, the ``read_*`` functions on
its reader connection within one read transaction each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from core.codec import (
    alert_bodies,
    decode_incident,
    documents_by_fingerprint,
    encode_alert_batch,
    encode_event,
    encode_incident,
)
from core.incident import OPEN_STATES, Incident, IncidentAlert
from core.store import (
    CorrelationCommit,
    IncidentAlertBodies,
    IncidentDocuments,
    IncidentQuery,
    VersionConflict,
)
from core.store import sqlite_events as stream
from core.store.events import ConsumerWrite, encode_snapshot
from core.store.sqlite_incident_list import list_incidents_sql, listed_columns, select_rows
from core.timestamps import micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS incident (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    service TEXT,
    opened_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    sweep_at INTEGER,
    alert_documents INTEGER NOT NULL DEFAULT 0,
    priority TEXT,
    team TEXT,
    category TEXT,
    assignee TEXT,
    title_key TEXT
);
CREATE INDEX IF NOT EXISTS incident_by_opened ON incident (opened_at, id);
CREATE TABLE IF NOT EXISTS incident_alert_batch (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_alert_batch_by_incident
ON incident_alert_batch (incident_id, id);
CREATE TABLE IF NOT EXISTS group_head (
    group_key TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_event (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_event_by_incident ON incident_event (incident_id, seq);
CREATE TABLE IF NOT EXISTS silence (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS silence_revision (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    revision TEXT NOT NULL
);
"""

# The group's entries after its saved cursor, or after a later position the caller
# gives (its batch in flight); a group that never committed starts at 0.
CLAIM = """
SELECT seq, body FROM alert_log
WHERE seq > MAX(COALESCE(
    (SELECT CAST(cursor AS INTEGER) FROM consumer_cursor WHERE consumer = ?), 0), ?)
ORDER BY seq LIMIT ?
"""

# Batches merge once their documents exceed twice the incident's alerts plus this many:
# small incidents whose few alerts are refreshed now and then need not merge every time.
_MERGE_SLACK = 32
# The most alert documents one row holds. Decoding a row is one orjson call that holds the
# GIL; a 90,000-alert storm incident in one row held the event loop of a reader thread's
# process for 0.8 s. 2,000 documents decode in a few milliseconds.
_ROW_DOCUMENTS = 2_000

_INCIDENT = "SELECT id, body FROM incident WHERE id = ?"

# The ids come as one JSON array: any number of them in one statement.
_INCIDENTS_BY_ID = "SELECT id, body FROM incident WHERE id IN (SELECT value FROM json_each(?))"

_INCIDENT_FOR_GROUP = """
SELECT incident.id, incident.body
FROM group_head JOIN incident ON incident.id = group_head.incident_id
WHERE group_head.group_key = ?
"""

# Batches in the order they were written: a later document replaces an earlier one.
_ALERTS = "SELECT incident_id, body FROM incident_alert_batch WHERE incident_id = ? ORDER BY id"

# The ids come as one JSON array: any number of them in one statement. The batches are
# picked by id through the index, so that they come in id order without a sort: ordering
# the rows themselves copied every body through a temporary b-tree (a third of the time
# to read 100,000 alerts).
_ALERTS_OF_MANY = """
SELECT incident_id, body FROM incident_alert_batch
WHERE id IN (
    SELECT id FROM incident_alert_batch
    WHERE incident_id IN (SELECT value FROM json_each(?))
)
ORDER BY id
"""

INSERT_ALERT_BATCH = "INSERT INTO incident_alert_batch (incident_id, body) VALUES (?, ?)"

INCIDENT_EVENTS = "SELECT body FROM incident_event WHERE incident_id = ? ORDER BY seq"

SILENCE = "SELECT body FROM silence WHERE id = ?"

SILENCES = "SELECT body FROM silence ORDER BY created_at DESC, id DESC"

SILENCE_COUNT = "SELECT count(*) FROM silence"

SILENCE_REVISION = "SELECT revision FROM silence_revision WHERE id = 0"

# A new random token in the transaction that changes the silences (see silences_revision).
BUMP_SILENCE_REVISION = """
INSERT INTO silence_revision (id, revision) VALUES (0, hex(randomblob(8)))
ON CONFLICT(id) DO UPDATE SET revision = excluded.revision
"""

# The body is orjson's bytes: read as text, since SQLite takes a BLOB for its binary JSONB.
DELETE_SILENCES_ENDED_BEFORE = """
DELETE FROM silence WHERE json_extract(CAST(body AS TEXT), '$.ends_at') < ?
"""

UPSERT_SILENCE = """
INSERT INTO silence (id, created_at, body) VALUES (?, ?, ?)
ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body
"""

_UPSERT_INCIDENT = """
INSERT INTO incident (id, version, state, service, opened_at, sweep_at, body, alert_documents,
    priority, team, category, assignee, title_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET version = excluded.version, state = excluded.state,
    service = excluded.service, opened_at = excluded.opened_at,
    sweep_at = excluded.sweep_at, body = excluded.body,
    alert_documents = excluded.alert_documents, priority = excluded.priority,
    team = excluded.team, category = excluded.category, assignee = excluded.assignee,
    title_key = excluded.title_key
"""

# What a commit compares before it writes: the version, the alert documents, and the
# columns the list's indexes hold (state, service, opened_at, then _IncidentRow.listed).
_STORED = """
SELECT version, alert_documents, state, service, opened_at,
    priority, team, category, assignee, title_key
FROM incident WHERE id = ?
"""

# An incident none of whose listed columns changed (most commits: alerts, sweep times):
# SQLite rewrites the index entries of the columns an UPDATE sets, so it sets none of them.
_UPDATE_UNMOVED = """
UPDATE incident SET version = ?, sweep_at = ?, body = ?, alert_documents = ? WHERE id = ?
"""

_UPSERT_HEAD = """
INSERT INTO group_head (group_key, incident_id) VALUES (?, ?)
ON CONFLICT(group_key) DO UPDATE SET incident_id = excluded.incident_id
"""

# Positions are alert_log rowids kept as text: compare them as numbers, never move back.
_ADVANCE_CURSOR = """
INSERT INTO consumer_cursor (consumer, cursor) VALUES (?, ?)
ON CONFLICT(consumer) DO UPDATE SET cursor = excluded.cursor
WHERE CAST(excluded.cursor AS INTEGER) > CAST(consumer_cursor.cursor AS INTEGER)
"""


def _list_incidents_sql(query: IncidentQuery) -> tuple[str, tuple[Any, ...]]:
    """Returns the SELECT of the ids and bodies ``query`` selects, and its parameters."""
    return list_incidents_sql(query)


def read_incident(conn: sqlite3.Connection, incident_id: str) -> Incident | None:
    """Returns the incident with all its alerts, or None."""
    return _one(conn, conn.execute(_INCIDENT, (incident_id,)).fetchall())


def read_incidents_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Incident]:
    """Returns those of the incidents that exist, with all their alerts, by id.

    Two statements whatever the number of incidents: their rows, then all their alerts.
    """
    listed = orjson.dumps(list(ids))
    rows = conn.execute(_INCIDENTS_BY_ID, (listed,)).fetchall()
    if not rows:
        return {}
    found = _assemble(rows, conn.execute(_ALERTS_OF_MANY, (listed,)).fetchall())
    return {incident.id: incident for incident in found}


def read_incident_for_group(conn: sqlite3.Connection, group_key: str) -> Incident | None:
    """Returns the incident the group's head points to, with all its alerts, or None."""
    return _one(conn, conn.execute(_INCIDENT_FOR_GROUP, (group_key,)).fetchall())


def read_incidents(conn: sqlite3.Connection, query: IncidentQuery) -> list[Incident]:
    """Returns the incidents ``query`` selects with all their alerts, in its order.

    Two statements whatever the number of incidents: their rows, then all their alerts.
    """
    rows = select_rows(conn, query)
    if not rows:
        return []
    ids = orjson.dumps([incident_id for incident_id, _ in rows])
    return _assemble(rows, conn.execute(_ALERTS_OF_MANY, (ids,)).fetchall())


# Every open incident: list_incidents' statement for the open states, without a limit.
_OPEN = IncidentQuery(states=OPEN_STATES, limit=-1)


def read_open_incident_documents(
    conn: sqlite3.Connection, known: Mapping[str, int]
) -> list[IncidentDocuments]:
    """Returns every open incident, newest first, with its alerts as documents.

    The alerts of an incident whose version is in ``known`` are not read (None).
    """
    return [
        IncidentDocuments(read.incident, None)
        if read.bodies is None
        else IncidentDocuments(read.incident, documents_by_fingerprint(read.bodies))
        for read in read_open_incident_bodies(conn, known)
    ]


def read_open_incident_bodies(
    conn: sqlite3.Connection, known: Mapping[str, int]
) -> list[IncidentAlertBodies]:
    """Returns every open incident, newest first, with its alerts' bodies left encoded.

    The alerts of an incident whose version is in ``known`` are not read (None).
    """
    rows = conn.execute(*_list_incidents_sql(_OPEN)).fetchall()
    heads = [decode_incident(body) for _, body in rows]
    changed = [h.id for h in heads if known.get(h.id) != h.version]
    alerts: dict[str, list[bytes]] = {}
    if changed:
        ids = orjson.dumps(changed)
        for incident_id, body in conn.execute(_ALERTS_OF_MANY, (ids,)).fetchall():
            alerts.setdefault(incident_id, []).append(body)
    return [
        IncidentAlertBodies(head, None)
        if known.get(head.id) == head.version
        else IncidentAlertBodies(*alert_bodies(head, alerts.get(head.id, ())))
        for head in heads
    ]


def _one(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> Incident | None:
    if not rows:
        return None
    [(incident_id, _)] = rows
    return _assemble(rows, conn.execute(_ALERTS, (incident_id,)).fetchall())[0]


def _assemble(
    rows: Iterable[tuple[Any, ...]], alert_rows: Iterable[tuple[Any, ...]]
) -> list[Incident]:
    """Decodes (id, body) incident rows with the (incident id, body) rows of their alerts."""
    alerts: dict[str, list[bytes]] = {}
    for incident_id, body in alert_rows:
        alerts.setdefault(incident_id, []).append(body)
    return [decode_incident(body, alerts.get(incident_id, ())) for incident_id, body in rows]


# An incident's alert documents a commit writes (encoded rows), how many, and the
# incident's alerts as of the commit (None if it does not hold them all).
_AlertBatch = tuple[list[bytes], int, tuple[IncidentAlert, ...] | None]


@dataclass(frozen=True, slots=True)
class _IncidentRow:
    """An incident's row as a commit writes it, and how many alerts it has."""

    id: str
    version: int
    state: str
    service: str | None
    opened_at: int
    sweep_at: int | None
    body: bytes
    alert_count: int
    # The list filters' columns (sqlite_incident_list): priority, team, category,
    # assignee and the casefolded title.
    listed: tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class CommitRows:
    """A correlation commit encoded as the rows it writes, ready for the writer thread."""

    group: str
    incidents: list[_IncidentRow]
    # Per incident, the batch of its alerts the commit writes (in rows of at most
    # _ROW_DOCUMENTS), how many it holds, and all its alerts as of this commit.
    alert_batches: dict[str, _AlertBatch]
    heads: list[tuple[str, str | None, str]]
    # Timeline events with their stream entry's snapshot (core.store.sqlite_events).
    events: list[stream.StreamRow]
    cursor: str | None
    documents: tuple[ConsumerWrite, ...] = ()
    # Timeline notes as (incident id, body): timeline rows only (core.store.sqlite_events).
    notes: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, commit: CorrelationCommit) -> CommitRows:
        """Encodes ``commit``; the cursor becomes the highest consumed position."""
        cursor = max((int(position) for position in commit.consumed), default=None)
        written = {incident.id: incident for incident in commit.incidents}
        # Encoded once per incident, whatever its number of events.
        snapshots = {e.incident_id: b"" for e in commit.events}
        for incident_id in snapshots:
            snapshots[incident_id] = encode_snapshot(written[incident_id])
        alerts_of: dict[str, list[IncidentAlert]] = {}
        for write in commit.alerts:
            alerts_of.setdefault(write.incident_id, []).append(write.alert)
        return cls(
            group=commit.group,
            incidents=[
                _IncidentRow(
                    i.id,
                    i.version,
                    i.state.value,
                    i.service,
                    micros(i.opened_at),
                    None if i.sweep_at is None else micros(i.sweep_at),
                    encode_incident(i),
                    len(i.alerts),
                    listed_columns(i),
                )
                for i in commit.incidents
            ],
            alert_batches={
                incident_id: (
                    [
                        encode_alert_batch(alerts[start : start + _ROW_DOCUMENTS])
                        for start in range(0, len(alerts), _ROW_DOCUMENTS)
                    ],
                    len(alerts),
                    # A snapshot, taken here: the correlator's next step may set alerts
                    # in the same dict while the writer thread applies this commit. An
                    # incident whose counts the commit gives was read without its alerts.
                    None if _given_counts(commit, incident_id) else tuple(alerts_now),
                )
                for incident_id, alerts in alerts_of.items()
                for alerts_now in (written[incident_id].alerts.values(),)
            },
            heads=[(h.group_key, h.expected, h.incident_id) for h in commit.heads],
            # CorrelationCommit checked that every event's incident is written.
            events=[
                (
                    e.incident_id,
                    encode_event(e),
                    micros(e.at),
                    written[e.incident_id].version,
                    written[e.incident_id].state.value,
                    snapshots[e.incident_id],
                )
                for e in commit.events
            ],
            cursor=None if cursor is None else str(cursor),
            documents=commit.documents,
            notes=stream.encode_notes(commit.notes),
        )

    def apply(self, conn: sqlite3.Connection) -> None:
        """Checks every version and group head, then writes; a conflict raises before writing."""
        documents: dict[str, int] = {}
        # The incidents whose listed columns stay as stored (sqlite_incident_list).
        unmoved: set[str] = set()
        for row in self.incidents:
            found = conn.execute(_STORED, (row.id,)).fetchone()
            stored, documents[row.id] = (0, 0) if found is None else found[:2]
            listed = (row.state, row.service, row.opened_at, *row.listed)
            if found is not None and tuple(found[2:]) == listed:
                unmoved.add(row.id)
            if stored != row.version - 1:
                raise VersionConflict(
                    f"incident {row.id} is at version {stored}, not {row.version - 1}"
                )
        for group_key, expected, _ in self.heads:
            found = conn.execute(
                "SELECT incident_id FROM group_head WHERE group_key = ?", (group_key,)
            ).fetchone()
            current = None if found is None else found[0]
            if current != expected:
                raise VersionConflict(f"group {group_key} points to {current}, not {expected}")
        incident_rows = []
        unmoved_rows = []
        for row in self.incidents:
            batch = self.alert_batches.get(row.id)
            if batch is not None:
                documents[row.id] = _write_batch(conn, row, batch, documents[row.id])
            if row.id in unmoved:
                unmoved_rows.append(
                    (row.version, row.sweep_at, row.body, documents[row.id], row.id)
                )
                continue
            incident_rows.append(
                (
                    row.id,
                    row.version,
                    row.state,
                    row.service,
                    row.opened_at,
                    row.sweep_at,
                    row.body,
                    documents[row.id],
                    *row.listed,
                )
            )
        conn.executemany(_UPSERT_INCIDENT, incident_rows)
        conn.executemany(_UPDATE_UNMOVED, unmoved_rows)
        conn.executemany(_UPSERT_HEAD, [(key, new) for key, _, new in self.heads])
        stream.append(conn, self.events)
        stream.append_notes(conn, self.notes)
        stream.write_documents(conn, self.documents)
        if self.cursor is not None:
            conn.execute(_ADVANCE_CURSOR, (self.group, self.cursor))


def _given_counts(commit: CorrelationCommit, incident_id: str) -> bool:
    """Tells whether the commit gives the incident's counts (it was read without alerts)."""
    return any(given[0] == incident_id for given in commit.counts)


def _write_batch(
    conn: sqlite3.Connection, row: _IncidentRow, batch: _AlertBatch, stored: int
) -> int:
    """Adds the incident's batch, or merges it with the stored ones; returns the documents.

    The merge writes the incident's alerts as the commit holds them, when it holds them
    all: a stored batch need not be decoded then (twice the alerts, where most of a
    resend's cost was the merges' decoding).
    """
    bodies, count, alerts = batch
    if stored + count <= 2 * row.alert_count + _MERGE_SLACK:
        conn.executemany(INSERT_ALERT_BATCH, [(row.id, body) for body in bodies])
        return stored + count
    if alerts is None:
        merged = _merged(
            [stored_body for (_, stored_body) in conn.execute(_ALERTS, (row.id,))] + bodies
        )
        rows = [
            (row.id, orjson.dumps(merged[start : start + _ROW_DOCUMENTS]))
            for start in range(0, len(merged), _ROW_DOCUMENTS)
        ]
    else:
        rows = [
            (row.id, encode_alert_batch(alerts[start : start + _ROW_DOCUMENTS]))
            for start in range(0, len(alerts), _ROW_DOCUMENTS)
        ]
    conn.execute("DELETE FROM incident_alert_batch WHERE incident_id = ?", (row.id,))
    conn.executemany(INSERT_ALERT_BATCH, rows)
    return len(merged) if alerts is None else len(alerts)


def _merged(batches: Sequence[bytes]) -> list[Any]:
    """The documents of ``batches`` merged: the last one per fingerprint, in first order."""
    documents: dict[str, Any] = {}
    for body in batches:
        for document in orjson.loads(body):
            documents[document["fingerprint"]] = document
    return list(documents.values())
