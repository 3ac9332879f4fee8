"""Incident lists and detail pages on SQLite that cost what the page shows.

Each commit writes, in its own transaction, every incident's alert counts (all, firing)
with the version they are of, in ``incident_alert_count``: a list reads the incident
rows and these, and decodes no alert. Counts of another version (an incident last
written before they were kept) are worked out from the alerts when read, and written
back once (:func:`counts_to_keep`).

A page of an incident's alerts streams its batch rows (``sqlite_incidents``) through a
:class:`PageCollector`: one row of at most 2,000 documents is held at a time, and only
the page's documents are kept and decoded. Runs on the store's reader connection,
in its thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from core.codec import decode_event, decode_incident, decode_incident_documents
from core.incident import Incident, IncidentEvent
from core.store import AlertPage, CorrelationCommit, IncidentQuery, IncidentSummary
from core.store.alert_pages import PageCollector, count_statuses
from core.store.sqlite_incident_list import select_rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS incident_alert_count (
    incident_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    alerts INTEGER NOT NULL,
    firing INTEGER NOT NULL
);
"""

_UPSERT_COUNTS = """
INSERT INTO incident_alert_count (incident_id, version, alerts, firing) VALUES (?, ?, ?, ?)
ON CONFLICT(incident_id) DO UPDATE SET version = excluded.version,
    alerts = excluded.alerts, firing = excluded.firing
"""

# Counts worked out by a reader: kept only if the incident is still at that version.
_KEEP_COUNTS = """
INSERT INTO incident_alert_count (incident_id, version, alerts, firing)
SELECT ?1, ?2, ?3, ?4 WHERE (SELECT version FROM incident WHERE id = ?1) = ?2
ON CONFLICT(incident_id) DO UPDATE SET version = excluded.version,
    alerts = excluded.alerts, firing = excluded.firing
"""

_COUNTS_OF_MANY = """
SELECT incident_id, version, alerts, firing FROM incident_alert_count
WHERE incident_id IN (SELECT value FROM json_each(?))
"""

_INCIDENT = "SELECT id, body FROM incident WHERE id = ?"

_BATCHES = "SELECT body FROM incident_alert_batch WHERE incident_id = ? ORDER BY id"

_EVENTS_PAGE = """
SELECT body FROM incident_event WHERE incident_id = ? ORDER BY seq LIMIT ? OFFSET ?
"""

_EVENT_COUNT = "SELECT count(*) FROM incident_event WHERE incident_id = ?"

# (incident id, version, alerts, firing)
CountRow = tuple[str, int, int, int]


def commit_counts(commit: CorrelationCommit) -> list[CountRow]:
    """The counts of every incident a commit writes (CorrelationCommit.counts_of)."""
    return [(i.id, i.version, *commit.counts_of(i)) for i in commit.incidents]


def write_counts(conn: sqlite3.Connection, rows: Sequence[CountRow]) -> None:
    """Writes a commit's counts, in its transaction (the writer thread)."""
    conn.executemany(_UPSERT_COUNTS, rows)


def keep_counts(conn: sqlite3.Connection, rows: Sequence[CountRow]) -> None:
    """Writes counts a reader worked out, for the incidents still at their version."""
    conn.executemany(_KEEP_COUNTS, [(*row,) for row in rows])


def read_summaries(
    conn: sqlite3.Connection, query: IncidentQuery
) -> tuple[list[IncidentSummary], list[CountRow]]:
    """Returns the incidents the query selects as summaries, and the counts worked out."""
    rows = select_rows(conn, query)
    return _summaries(conn, rows)


def read_summary(
    conn: sqlite3.Connection, incident_id: str
) -> tuple[IncidentSummary | None, list[CountRow]]:
    """Returns the incident as a summary (or None), and the counts worked out."""
    rows = conn.execute(_INCIDENT, (incident_id,)).fetchall()
    summaries, computed = _summaries(conn, rows)
    return (summaries[0] if summaries else None), computed


def _summaries(
    conn: sqlite3.Connection, rows: list[tuple[Any, ...]]
) -> tuple[list[IncidentSummary], list[CountRow]]:
    if not rows:
        return [], []
    heads = [decode_incident(body) for _, body in rows]
    ids = orjson.dumps([h.id for h in heads])
    kept = {
        incident_id: (version, alerts, firing)
        for incident_id, version, alerts, firing in conn.execute(_COUNTS_OF_MANY, (ids,))
    }
    summaries: list[IncidentSummary] = []
    computed: list[CountRow] = []
    for head in heads:
        found = kept.get(head.id)
        if found is not None and found[0] == head.version:
            _, alerts, firing = found
        else:
            alerts, firing = _count(conn, head)
            computed.append((head.id, head.version, alerts, firing))
        summaries.append(IncidentSummary(head, alerts, firing))
    return summaries, computed


def _count(conn: sqlite3.Connection, head: Incident) -> tuple[int, int]:
    """Counts an incident's alerts from its batches, one batch row at a time."""
    statuses: dict[str, str] = {}
    row = conn.execute(_INCIDENT, (head.id,)).fetchone()
    if row is not None:
        _, inline = decode_incident_documents(row[1])
        statuses.update((f, d["status"]) for f, d in inline.items())
    for (body,) in conn.execute(_BATCHES, (head.id,)):
        for document in orjson.loads(body):
            statuses[document["fingerprint"]] = document["status"]
    return count_statuses(statuses)


def read_alert_page(
    conn: sqlite3.Connection, incident_id: str, after: str, limit: int, named: Collection[str]
) -> AlertPage:
    """Returns a page of the incident's alerts, streaming its batch rows."""
    collector = PageCollector(after, limit, named)
    row = conn.execute(_INCIDENT, (incident_id,)).fetchone()
    if row is not None:
        # Alerts inline in the incident's body (a layout before batches) come first.
        _, inline = decode_incident_documents(row[1])
        collector.add(inline.values())
    for (body,) in conn.execute(_BATCHES, (incident_id,)):
        collector.add(orjson.loads(body))
    return collector.page()


def read_events_page(
    conn: sqlite3.Connection, incident_id: str, start: int, limit: int
) -> tuple[list[IncidentEvent], int]:
    """Returns ``limit`` timeline events from position ``start``, and how many there are."""
    (total,) = conn.execute(_EVENT_COUNT, (incident_id,)).fetchone()
    rows = conn.execute(_EVENTS_PAGE, (incident_id, limit, start)).fetchall()
    return [decode_event(body) for (body,) in rows], total
