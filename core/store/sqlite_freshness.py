"""SQL for what the SQLite store keeps beside the log: alerts' latest ends and its identity.

``alert_end`` holds, per fingerprint, the latest end a sender gave a firing alert (see
``core.store.AlertEnds``); an upsert keeps the later of the stored and the given end, so
writes that land out of order never move an end back. ``store_identity`` holds one
random token, made when the file is created: the file's data lives as long as it does.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime

from core.timestamps import from_micros, micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_end (
    fingerprint TEXT PRIMARY KEY,
    ends_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_end_by_time ON alert_end (ends_at);
CREATE TABLE IF NOT EXISTS store_identity (
    token TEXT NOT NULL
);
"""

_EXTEND = (
    "INSERT INTO alert_end (fingerprint, ends_at) VALUES (?, ?) "
    "ON CONFLICT(fingerprint) DO UPDATE SET ends_at = excluded.ends_at "
    "WHERE excluded.ends_at > alert_end.ends_at"
)
# SQLite's default limit on host parameters is 32,766; stay well under it.
_CHUNK = 500


def extend_op(ends: Mapping[str, datetime]) -> tuple[tuple[str, int], ...]:
    """The rows of an :func:`extend` write, worked out before it is queued."""
    return tuple((fingerprint, micros(end)) for fingerprint, end in ends.items())


def extend(conn: sqlite3.Connection, rows: tuple[tuple[str, int], ...]) -> None:
    """Upserts the rows, keeping the later end of each fingerprint."""
    conn.executemany(_EXTEND, rows)


def latest_ends(conn: sqlite3.Connection, fingerprints: Collection[str]) -> dict[str, datetime]:
    """Returns the stored end of each fingerprint that has one."""
    wanted = list(fingerprints)
    found: dict[str, datetime] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT fingerprint, ends_at FROM alert_end WHERE fingerprint IN ({marks})",  # noqa: S608
            chunk,
        ).fetchall()
        found.update((fingerprint, from_micros(ends)) for fingerprint, ends in rows)
    return found


def forget(conn: sqlite3.Connection, before: datetime) -> None:
    """Deletes the ends earlier than ``before``."""
    conn.execute("DELETE FROM alert_end WHERE ends_at < ?", (micros(before),))


def ensure_identity(conn: sqlite3.Connection) -> None:
    """Makes the file's identity token if it has none (a new file)."""
    conn.execute(
        "INSERT INTO store_identity (token) SELECT ? "
        "WHERE NOT EXISTS (SELECT 1 FROM store_identity)",
        (uuid.uuid4().hex,),
    )


IDENTITY = "SELECT token FROM store_identity LIMIT 1"
