"""Brings an SQLite database that an earlier Tocsin wrote to today's layout, once.

The layouts, by ``PRAGMA user_version``:

- 0: each incident's alerts inline in its JSON body;
- 1: each alert in a row of its own, in ``incident_alert`` (WITHOUT ROWID);
- 2: as 1, and the incident table has ``sweep_at`` with its partial index;
- 3: as 2, with ``incident_alert`` keeping rowids (a layout of one development day);
- 4: alerts in batches, one row per incident and commit, in
  ``incident_alert_batch``, and the incident counts its documents there;
- 5 (today): as 4, and the incident row has a column per list filter (priority, team,
  category, assignee, the casefolded title), each indexed with its opening time
  (``sqlite_incident_list``), and the titles in the FTS5 trigram table ``incident_title``;
  ``incident_by_state`` became ``incident_by_state_opened``.

Runs in the store's writer thread, before any other write, outside any transaction.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

import orjson

from core.codec import (
    decode_incident,
    encode_alert_batch,
    encode_incident,
    stored_state_names,
)
from core.incident import OPEN_STATES
from core.store.sqlite_incident_list import LIST_INDEXES, LISTED, listed_columns
from core.store.sqlite_incidents import INSERT_ALERT_BATCH

LAYOUT = 5
_ALERTS_APART = 1  # the first layout with the alerts out of the incident's body
_SWEEP_INDEXED = 2  # the first layout with sweep_at

# Created here, not in the schema: on an older database the schema runs before the
# column exists. Partial: most incidents, and every closed one, have nothing to sweep.
_SWEEP_INDEX = """
CREATE INDEX IF NOT EXISTS incident_by_sweep ON incident (sweep_at, id)
WHERE sweep_at IS NOT NULL
"""

# The columns of sqlite_incident_list.LISTED, in its order.
_FILL_LISTED = """
UPDATE incident SET priority = ?, team = ?, category = ?, assignee = ?, title_key = ?
WHERE id = ?
"""

# The states come as one JSON array.
_SWEEP_OPEN_AT_ONCE = """
UPDATE incident SET sweep_at = opened_at WHERE state IN (SELECT value FROM json_each(?))
"""


def migrate(conn: sqlite3.Connection) -> None:
    """Brings the database up to :data:`LAYOUT`, all steps in one transaction.

    Missing columns come first, as the other steps write them. The alerts then move
    into batches, from the incident bodies (layout 0) or from ``incident_alert``
    (layouts 1-3); incidents written before ``sweep_at`` existed are made due at once,
    and those written before the list filters' columns get them from their bodies. A
    new database only gets the sweep and list indexes. Run it after the schema.
    """
    (layout,) = conn.execute("PRAGMA user_version").fetchone()
    if layout >= LAYOUT:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another connection may have migrated meanwhile.
        (layout,) = conn.execute("PRAGMA user_version").fetchone()
        if layout < LAYOUT:
            added = _add_missing_columns(conn)
            if layout < _ALERTS_APART:
                _move_inline_alerts_to_batches(conn)
            _move_alert_rows_to_batches(conn)
            if "sweep_at" in added:
                _make_open_incidents_due(conn)
            if added.intersection(LISTED):
                _fill_listed_columns(conn)
            conn.execute(_SWEEP_INDEX)
            # Replaced by incident_by_state_opened, which orders equal instants by id too.
            conn.execute("DROP INDEX IF EXISTS incident_by_state")
            _create_list_indexes(conn)
            conn.execute(f"PRAGMA user_version = {LAYOUT}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _add_missing_columns(conn: sqlite3.Connection) -> set[str]:
    """Adds the incident columns an earlier layout lacks; returns the names it added."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(incident)")}
    added: set[str] = set()
    if "sweep_at" not in columns:
        conn.execute("ALTER TABLE incident ADD COLUMN sweep_at INTEGER")
        added.add("sweep_at")
    if "alert_documents" not in columns:
        conn.execute("ALTER TABLE incident ADD COLUMN alert_documents INTEGER NOT NULL DEFAULT 0")
        added.add("alert_documents")
    for name in LISTED:
        if name not in columns:
            # Only fixed names of LISTED are formatted into the text.
            conn.execute(f"ALTER TABLE incident ADD COLUMN {name} TEXT")
            added.add(name)
    return added


def _fill_listed_columns(conn: sqlite3.Connection) -> None:
    """Writes the list filters' columns of every incident from its body (layouts 0-4)."""
    rows = [
        (*listed_columns(decode_incident(body)), incident_id)
        for incident_id, body in conn.execute("SELECT id, body FROM incident")
    ]
    conn.executemany(_FILL_LISTED, rows)


def _create_list_indexes(conn: sqlite3.Connection) -> None:
    # executescript would COMMIT the migration's transaction first: one statement each.
    for statement in LIST_INDEXES:
        conn.execute(statement)


def _move_inline_alerts_to_batches(conn: sqlite3.Connection) -> None:
    """Moves the alerts held in incident bodies (layout 0) into one batch per incident."""
    for incident_id, body in conn.execute("SELECT id, body FROM incident").fetchall():
        incident = decode_incident(body)
        conn.execute(
            "UPDATE incident SET body = ?, alert_documents = ? WHERE id = ?",
            (encode_incident(incident), len(incident.alerts), incident_id),
        )
        if incident.alerts:
            batch = encode_alert_batch(incident.alerts.values())
            conn.execute(INSERT_ALERT_BATCH, (incident_id, batch))


def _move_alert_rows_to_batches(conn: sqlite3.Connection) -> None:
    """Moves the rows of ``incident_alert`` (layouts 1-3) into one batch per incident."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incident_alert'"
    ).fetchone()
    if exists is None:
        return
    documents: dict[str, list[bytes]] = defaultdict(list)
    for incident_id, body in conn.execute("SELECT incident_id, body FROM incident_alert"):
        documents[incident_id].append(body)
    for incident_id, bodies in documents.items():
        # The documents are JSON objects already: the batch is their array.
        conn.execute(INSERT_ALERT_BATCH, (incident_id, b"[" + b",".join(bodies) + b"]"))
        conn.execute(
            "UPDATE incident SET alert_documents = ? WHERE id = ?", (len(bodies), incident_id)
        )
    conn.execute("DROP TABLE incident_alert")


def _make_open_incidents_due(conn: sqlite3.Connection) -> None:
    # Nobody computed when these incidents need the sweep: decode_incident reads an open
    # one whose body lacks sweep_at as due at its opening, and the column agrees, so
    # that the next sweep looks at each and sets a real value.
    open_states = orjson.dumps(stored_state_names(OPEN_STATES))
    conn.execute(_SWEEP_OPEN_AT_ONCE, (open_states,))
