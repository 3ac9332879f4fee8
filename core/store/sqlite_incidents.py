"""SQL for incidents, their timelines, group heads and silences in the SQLite store.

An incident's row holds its own fields; each of its alerts has a row of its own in
``incident_alert``, so that a commit writes only the alerts that changed. That table
keeps rowids, with a unique index on (incident, fingerprint): its bodies are a few
hundred bytes, and a WITHOUT ROWID table, which stores them in the key's b-tree, split
pages on every insert of a storm (three times the write cost). Its
``sweep_at`` column, indexed where set, lists the incidents the correlator's sweep must
look at. Databases of an earlier Tocsin lack some of that; :func:`migrate` brings them
up to date once, when the store opens.

:class:`CommitRows` and :func:`migrate` run inside the store's writer thread, the
``read_*`` functions on its reader connection within one read transaction each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from core.codec import decode_incident, encode_alert, encode_event, encode_incident
from core.incident import OPEN_STATES, Incident
from core.store import CorrelationCommit, IncidentQuery, VersionConflict
from core.timestamps import micros

_ALERT_TABLE = """
CREATE TABLE IF NOT EXISTS incident_alert (
    id INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    body BLOB NOT NULL
)
"""

SCHEMA = f"""
{_ALERT_TABLE};
CREATE TABLE IF NOT EXISTS incident (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    service TEXT,
    opened_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    sweep_at INTEGER
);
CREATE INDEX IF NOT EXISTS incident_by_opened ON incident (opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_state ON incident (state, opened_at);
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
"""

# The group's entries after its saved cursor; a group that never committed starts at 0.
CLAIM = """
SELECT seq, body FROM alert_log
WHERE seq > COALESCE(
    (SELECT CAST(cursor AS INTEGER) FROM consumer_cursor WHERE consumer = ?), 0)
ORDER BY seq LIMIT ?
"""

# PRAGMA user_version once every incident keeps its alerts in incident_alert.
_ALERTS_APART = 1
# PRAGMA user_version once the incident table has sweep_at, filled and indexed.
_SWEEP_INDEXED = 2
# PRAGMA user_version once incident_alert keeps rowids, with its unique key an index.
_ALERTS_BY_ROWID = 3

# Created by migrate(), not SCHEMA: on an older database incident_alert is still the
# WITHOUT ROWID table when SCHEMA runs, and the index must end up on the new one.
_ALERT_KEY_INDEX = """
CREATE UNIQUE INDEX IF NOT EXISTS incident_alert_by_key
ON incident_alert (incident_id, fingerprint)
"""

# Created by migrate(), not SCHEMA: on an older database SCHEMA runs before the column
# exists. Partial: most incidents, and every closed one, have nothing to sweep.
_SWEEP_INDEX = """
CREATE INDEX IF NOT EXISTS incident_by_sweep ON incident (sweep_at, id)
WHERE sweep_at IS NOT NULL
"""

# The states come as one JSON array, as the ids of _ALERTS_OF_MANY do.
_SWEEP_OPEN_AT_ONCE = """
UPDATE incident SET sweep_at = opened_at WHERE state IN (SELECT value FROM json_each(?))
"""

_INCIDENT = "SELECT id, body FROM incident WHERE id = ?"

_INCIDENT_FOR_GROUP = """
SELECT incident.id, incident.body
FROM group_head JOIN incident ON incident.id = group_head.incident_id
WHERE group_head.group_key = ?
"""

_ALERTS = "SELECT incident_id, body FROM incident_alert WHERE incident_id = ?"

# The ids come as one JSON array: any number of them in one statement.
_ALERTS_OF_MANY = """
SELECT incident_id, body FROM incident_alert
WHERE incident_id IN (SELECT value FROM json_each(?))
"""

INCIDENT_EVENTS = "SELECT body FROM incident_event WHERE incident_id = ? ORDER BY seq"

SILENCE = "SELECT body FROM silence WHERE id = ?"

SILENCES = "SELECT body FROM silence ORDER BY created_at DESC, id DESC"

UPSERT_SILENCE = """
INSERT INTO silence (id, created_at, body) VALUES (?, ?, ?)
ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body
"""

_UPSERT_INCIDENT = """
INSERT INTO incident (id, version, state, service, opened_at, sweep_at, body)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET version = excluded.version, state = excluded.state,
    service = excluded.service, opened_at = excluded.opened_at,
    sweep_at = excluded.sweep_at, body = excluded.body
"""

_UPSERT_ALERT = """
INSERT INTO incident_alert (incident_id, fingerprint, body) VALUES (?, ?, ?)
ON CONFLICT(incident_id, fingerprint) DO UPDATE SET body = excluded.body
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
    where: list[str] = []
    params: list[Any] = []
    if query.states is not None:
        states = sorted(state.value for state in query.states)
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    if query.service is not None:
        where.append("service = ?")
        params.append(query.service)
    if query.opened_after is not None:
        where.append("opened_at >= ?")
        params.append(micros(query.opened_after))
    if query.opened_before is not None:
        where.append("opened_at < ?")
        params.append(micros(query.opened_before))
    if query.sweep_due_by is not None:
        # IS NOT NULL as the partial index incident_by_sweep says, so that it serves.
        where.append("sweep_at IS NOT NULL AND sweep_at <= ?")
        params.append(micros(query.sweep_due_by))
    # Only "?" placeholders and fixed column names are formatted into the text.
    sql = "SELECT id, body FROM incident"
    if query.sweep_due_by is not None:
        # Left to itself, SQLite prefers incident_by_state for "state IN" and reads every
        # open incident: the very cost this index exists to save the sweep.
        sql += " INDEXED BY incident_by_sweep"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.sweep_due_by is not None:
        sql += " ORDER BY sweep_at, id LIMIT ?"
    else:
        sql += " ORDER BY opened_at DESC, id DESC LIMIT ?"
    params.append(query.limit)
    return sql, tuple(params)


def read_incident(conn: sqlite3.Connection, incident_id: str) -> Incident | None:
    """Returns the incident with all its alerts, or None."""
    return _one(conn, conn.execute(_INCIDENT, (incident_id,)).fetchall())


def read_incident_for_group(conn: sqlite3.Connection, group_key: str) -> Incident | None:
    """Returns the incident the group's head points to, with all its alerts, or None."""
    return _one(conn, conn.execute(_INCIDENT_FOR_GROUP, (group_key,)).fetchall())


def read_incidents(conn: sqlite3.Connection, query: IncidentQuery) -> list[Incident]:
    """Returns the incidents ``query`` selects with all their alerts, in its order.

    Two statements whatever the number of incidents: their rows, then all their alerts.
    """
    rows = conn.execute(*_list_incidents_sql(query)).fetchall()
    if not rows:
        return []
    ids = orjson.dumps([incident_id for incident_id, _ in rows])
    return _assemble(rows, conn.execute(_ALERTS_OF_MANY, (ids,)).fetchall())


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


def migrate(conn: sqlite3.Connection) -> None:
    """Brings a database that an earlier Tocsin wrote to today's layout, once.

    Each step runs once per database, recorded in ``PRAGMA user_version``, all in one
    transaction: the alert table gets rowids and its key index (first, as the next step
    writes through that index); the alerts of incidents stored inline move into their
    own rows; then the incidents get ``sweep_at`` and its index. A new database only
    gets the indexes. Run it outside any transaction, after :data:`SCHEMA`.
    """
    (layout,) = conn.execute("PRAGMA user_version").fetchone()
    if layout >= _ALERTS_BY_ROWID:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another connection may have migrated meanwhile.
        (layout,) = conn.execute("PRAGMA user_version").fetchone()
        if layout < _ALERTS_BY_ROWID:
            _give_alerts_rowids(conn)
        if layout < _ALERTS_APART:
            _move_alerts_apart(conn)
        if layout < _SWEEP_INDEXED:
            _index_sweep(conn)
        conn.execute(f"PRAGMA user_version = {_ALERTS_BY_ROWID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _give_alerts_rowids(conn: sqlite3.Connection) -> None:
    """Rebuilds an earlier Tocsin's WITHOUT ROWID ``incident_alert`` with rowids; indexes it."""
    (table_sql,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'incident_alert'"
    ).fetchone()
    if "WITHOUT ROWID" in table_sql.upper():
        conn.execute("ALTER TABLE incident_alert RENAME TO incident_alert_without_rowid")
        # One statement, not executescript(SCHEMA): that would commit the migration's
        # transaction half done.
        conn.execute(_ALERT_TABLE)
        conn.execute(
            "INSERT INTO incident_alert (incident_id, fingerprint, body) "
            "SELECT incident_id, fingerprint, body FROM incident_alert_without_rowid"
        )
        conn.execute("DROP TABLE incident_alert_without_rowid")
    conn.execute(_ALERT_KEY_INDEX)


def _move_alerts_apart(conn: sqlite3.Connection) -> None:
    """Moves the alerts of incidents stored inline by an earlier Tocsin into their own rows."""
    for incident_id, body in conn.execute("SELECT id, body FROM incident").fetchall():
        incident = decode_incident(body)
        conn.execute(
            "UPDATE incident SET body = ? WHERE id = ?",
            (encode_incident(incident), incident_id),
        )
        conn.executemany(
            _UPSERT_ALERT,
            [(incident_id, a.fingerprint, encode_alert(a)) for a in incident.alerts.values()],
        )


def _index_sweep(conn: sqlite3.Connection) -> None:
    """Adds the ``sweep_at`` column if :data:`SCHEMA` did not create it, fills it, indexes it."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(incident)")}
    if "sweep_at" not in columns:
        conn.execute("ALTER TABLE incident ADD COLUMN sweep_at INTEGER")
        # Nobody computed when these incidents need the sweep: decode_incident reads an
        # open one whose body lacks sweep_at as due at its opening, and the column agrees,
        # so that the next sweep looks at each and sets a real value.
        open_states = orjson.dumps(sorted(state.value for state in OPEN_STATES))
        conn.execute(_SWEEP_OPEN_AT_ONCE, (open_states,))
    conn.execute(_SWEEP_INDEX)


@dataclass(frozen=True, slots=True)
class CommitRows:
    """A correlation commit encoded as the rows it writes, ready for the writer thread."""

    group: str
    incidents: list[tuple[str, int, str, str | None, int, int | None, bytes]]
    alerts: list[tuple[str, str, bytes]]
    heads: list[tuple[str, str | None, str]]
    events: list[tuple[str, bytes]]
    cursor: str | None

    @classmethod
    def of(cls, commit: CorrelationCommit) -> CommitRows:
        """Encodes ``commit``; the cursor becomes the highest consumed position."""
        cursor = max((int(position) for position in commit.consumed), default=None)
        return cls(
            group=commit.group,
            incidents=[
                (
                    i.id,
                    i.version,
                    i.state.value,
                    i.service,
                    micros(i.opened_at),
                    None if i.sweep_at is None else micros(i.sweep_at),
                    encode_incident(i),
                )
                for i in commit.incidents
            ],
            alerts=[
                (w.incident_id, w.alert.fingerprint, encode_alert(w.alert)) for w in commit.alerts
            ],
            heads=[(h.group_key, h.expected, h.incident_id) for h in commit.heads],
            events=[(e.incident_id, encode_event(e)) for e in commit.events],
            cursor=None if cursor is None else str(cursor),
        )

    def apply(self, conn: sqlite3.Connection) -> None:
        """Checks every version and group head, then writes; a conflict raises before writing."""
        for incident_id, version, *_ in self.incidents:
            found = conn.execute(
                "SELECT version FROM incident WHERE id = ?", (incident_id,)
            ).fetchone()
            stored = 0 if found is None else found[0]
            if stored != version - 1:
                raise VersionConflict(
                    f"incident {incident_id} is at version {stored}, not {version - 1}"
                )
        for group_key, expected, _ in self.heads:
            found = conn.execute(
                "SELECT incident_id FROM group_head WHERE group_key = ?", (group_key,)
            ).fetchone()
            current = None if found is None else found[0]
            if current != expected:
                raise VersionConflict(f"group {group_key} points to {current}, not {expected}")
        conn.executemany(_UPSERT_INCIDENT, self.incidents)
        conn.executemany(_UPSERT_ALERT, self.alerts)
        conn.executemany(_UPSERT_HEAD, [(key, new) for key, _, new in self.heads])
        conn.executemany(
            "INSERT INTO incident_event (incident_id, body) VALUES (?, ?)", self.events
        )
        if self.cursor is not None:
            conn.execute(_ADVANCE_CURSOR, (self.group, self.cursor))
