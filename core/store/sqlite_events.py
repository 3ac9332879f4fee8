"""SQL of the incident event stream in the SQLite store (see core.store.events).

A stream entry is a timeline row (``incident_event``) and a row of ``incident_stream``
with the same ``seq``: the incident's version, state and the rest of its snapshot
(``core.store.events.encode_snapshot``) after the write, and the event's time, by which
retention trims. The body is not copied: a storm's
``alerts_joined`` events list thousands of alerts. Positions are ``seq`` as text.

Each write numbers its events itself, after the highest ``seq`` of both tables: one
writer thread commits one write at a time, so positions grow in commit order and a
reader never sees a lower one appear behind a higher one; taking the highest of both
tables keeps them growing even if timelines were ever deleted. Events written before
the stream existed have no ``incident_stream`` row and are not in it, nor are
consumers' timeline notes (``TimelineNote``): a timeline row of their own ``seq``, of
an incident that exists, and nothing else.

Each consumer group is a row of ``incident_stream_group``: its cursor and its lease.
Consumers' documents are in ``consumer_document``, indexed by due time where they have
one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from core.codec import encode_event
from core.store.events import (
    ConsumerWrite,
    EventBatch,
    StreamConflict,
    StreamEvent,
    TimelineNote,
    decode_stream_event,
)
from core.timestamps import micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS incident_stream (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    incident BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_stream_group (
    grp TEXT PRIMARY KEY,
    cursor INTEGER,
    holder TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS consumer_document (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    due INTEGER,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consumer_document_by_due ON consumer_document (collection, due, key)
WHERE due IS NOT NULL;
"""

_LAST_SEQ = """
SELECT MAX(COALESCE((SELECT MAX(seq) FROM incident_event), 0),
           COALESCE((SELECT MAX(seq) FROM incident_stream), 0))
"""

_INSERT_EVENT = "INSERT INTO incident_event (seq, incident_id, body) VALUES (?, ?, ?)"

# The notes' incidents that exist (a note of another one is dropped); ids as a JSON array.
_EXISTING = "SELECT id FROM incident WHERE id IN (SELECT value FROM json_each(?))"

_INSERT_STREAM = (
    "INSERT INTO incident_stream (seq, at, version, state, incident) VALUES (?, ?, ?, ?, ?)"
)

CLAIM = """
SELECT s.seq, e.body, s.version, s.state, s.incident
FROM incident_stream AS s JOIN incident_event AS e ON e.seq = s.seq
WHERE s.seq > ? ORDER BY s.seq LIMIT ?
"""

CURSOR = "SELECT cursor FROM incident_stream_group WHERE grp = ?"

_GROUP = "SELECT cursor, holder, lease_until FROM incident_stream_group WHERE grp = ?"

_HOLD = """
INSERT INTO incident_stream_group (grp, holder, lease_until) VALUES (?, ?, ?)
ON CONFLICT(grp) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
"""

# The lease's end stays: it says when the group was last worked on (see _TRIM).
_RELEASE = """
UPDATE incident_stream_group SET holder = NULL WHERE grp = ? AND holder = ?
"""

_ADVANCE = "UPDATE incident_stream_group SET cursor = ? WHERE grp = ?"

_PUT_DOCUMENT = """
INSERT INTO consumer_document (collection, key, body, due) VALUES (?, ?, ?, ?)
ON CONFLICT(collection, key) DO UPDATE SET body = excluded.body, due = excluded.due
"""

DUE_DOCUMENTS = """
SELECT key, body FROM consumer_document INDEXED BY consumer_document_by_due
WHERE collection = ? AND due IS NOT NULL AND due <= ? ORDER BY due, key LIMIT ?
"""
# The same, from a place in that order on (a row value: one range of the index).
DUE_DOCUMENTS_AFTER = """
SELECT key, body FROM consumer_document INDEXED BY consumer_document_by_due
WHERE collection = ? AND due IS NOT NULL AND due <= ? AND (due, key) > (?, ?)
ORDER BY due, key LIMIT ?
"""

_DELETE_DOCUMENT = "DELETE FROM consumer_document WHERE collection = ? AND key = ?"

# The keys come as one JSON array: any number in one statement.
DOCUMENTS = """
SELECT key, body FROM consumer_document
WHERE collection = ? AND key IN (SELECT value FROM json_each(?))
"""

# The oldest events up to the first one not older than the cutoff: found by reading the
# stream from its start (times grow with positions, as writes follow the clock), so that
# a trim reads what it deletes and one row more, not a retention's worth of rows. A group
# that never committed has consumed nothing (0); a group whose lease ended before the
# cutoff is abandoned and holds nothing back; no group: no bound but time.
_TRIM = """
DELETE FROM incident_stream
WHERE seq < COALESCE((SELECT seq FROM incident_stream WHERE at >= ?1 ORDER BY seq LIMIT 1), ?2)
AND seq <= COALESCE(
    (SELECT MIN(COALESCE(cursor, 0)) FROM incident_stream_group WHERE lease_until >= ?1), ?2)
"""

_NO_BOUND = 2**63 - 1

# One stream entry as a write stores it: incident id, event body, at (micros), version,
# state, snapshot.
StreamRow = tuple[str, bytes, int, int, str, bytes]


def append(conn: sqlite3.Connection, rows: Sequence[StreamRow]) -> None:
    """Writes the events to the incident timelines and to the stream, in order."""
    if not rows:
        return
    (last,) = conn.execute(_LAST_SEQ).fetchone()
    conn.executemany(
        _INSERT_EVENT,
        [(last + n, incident_id, body) for n, (incident_id, body, *_) in enumerate(rows, 1)],
    )
    conn.executemany(
        _INSERT_STREAM,
        [(last + n, *snapshot) for n, (_, _, *snapshot) in enumerate(rows, 1)],
    )


def encode_notes(notes: Sequence[TimelineNote]) -> list[tuple[str, bytes]]:
    """Returns the (incident id, timeline body) rows of the notes, for :func:`append_notes`."""
    return [(note.incident_id, encode_event(note.event)) for note in notes]


def append_notes(conn: sqlite3.Connection, rows: Sequence[tuple[str, bytes]]) -> None:
    """Writes the notes to the timelines of their incidents that exist, not to the stream."""
    if not rows:
        return
    ids = orjson.dumps(list({incident_id for incident_id, _ in rows}))
    existing = {incident_id for (incident_id,) in conn.execute(_EXISTING, (ids,))}
    kept = [row for row in rows if row[0] in existing]
    if not kept:
        return
    (last,) = conn.execute(_LAST_SEQ).fetchone()
    numbered = [(last + n, incident_id, body) for n, (incident_id, body) in enumerate(kept, 1)]
    conn.executemany(_INSERT_EVENT, numbered)


@dataclass(slots=True)
class Lease:
    """What a claim found: who holds the group's lease now, and the group's cursor."""

    holder: str | None = None
    cursor: int | None = None


def hold(conn: sqlite3.Connection, group: str, member: str, now: int, until: int) -> Lease:
    """Takes or renews the group's lease for ``member`` unless another holds it at ``now``.

    The member's own lease is renewed only once half of it has passed: a consumer polling
    an idle stream then writes (and fsyncs) now and then, not at every poll.
    """
    found = conn.execute(_GROUP, (group,)).fetchone()
    cursor, holder, lease_until = (None, None, 0) if found is None else found
    if holder is not None and holder != member and lease_until > now:
        return Lease(holder, cursor)
    if holder != member or lease_until - now < (until - now) // 2:
        conn.execute(_HOLD, (group, member, until))
    return Lease(member, cursor)


def release(conn: sqlite3.Connection, group: str, member: str) -> None:
    """Frees the group's lease if ``member`` holds it."""
    conn.execute(_RELEASE, (group, member))


def commit(
    conn: sqlite3.Connection,
    batch: EventBatch,
    writes: Sequence[ConsumerWrite],
    notes: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Writes the documents and notes (:func:`encode_notes`) and moves the cursor past the
    batch, if it is still at its start."""
    found = conn.execute(CURSOR, (batch.group,)).fetchone()
    current = None if found is None or found[0] is None else str(found[0])
    if current != batch.after:
        raise StreamConflict(f"group {batch.group} is at {current}, not {batch.after}")
    write_documents(conn, writes)
    append_notes(conn, notes)
    if batch.last is not None:
        conn.execute(_ADVANCE, (int(batch.last), batch.group))


def write_documents(conn: sqlite3.Connection, writes: Sequence[ConsumerWrite]) -> None:
    """Sets or deletes consumers' documents (a consumer's commit, or a correlation commit)."""
    for write in writes:
        if write.document is None:
            conn.execute(_DELETE_DOCUMENT, (write.collection, write.key))
        else:
            due = None if write.due is None else micros(write.due)
            body = orjson.dumps(write.document)
            conn.execute(_PUT_DOCUMENT, (write.collection, write.key, body, due))


def trim(conn: sqlite3.Connection, written_before: int) -> int:
    """Deletes the stream rows older than ``written_before`` that every live group consumed."""
    return conn.execute(_TRIM, (written_before, _NO_BOUND)).rowcount


def events(rows: Sequence[tuple[Any, ...]]) -> tuple[StreamEvent, ...]:
    """Decodes rows of :data:`CLAIM`."""
    return tuple(
        decode_stream_event(str(seq), body, version, state, snapshot)
        for seq, body, version, state, snapshot in rows
    )
