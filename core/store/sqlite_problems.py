"""The problem half of the SQLite store: the ``problem`` table and its writes.

A problem is one row: its version (for compare-and-set), state and creation time (the
columns the list's indexes order and filter by), and the JSON ``core.store.problems``
writes. :func:`write` runs in the writer thread within the SAVEPOINT of its caller's
write (``core.store.sqlite``), before the incident commit it is paired with: if either
check fails, both are rolled back together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from core.problems import Problem, ProblemState
from core.store.problems import ProblemConflict, decode_problem, encode_problem
from core.timestamps import micros

SCHEMA = """
CREATE TABLE IF NOT EXISTS problem (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS problem_by_created ON problem (created_at, id);
CREATE INDEX IF NOT EXISTS problem_by_state ON problem (state, created_at, id);
"""

_VERSION = "SELECT version FROM problem WHERE id = ?"
_UPSERT = (
    "INSERT INTO problem (id, version, state, created_at, body) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET version = excluded.version, state = excluded.state, "
    "body = excluded.body"
)
_GET = "SELECT body FROM problem WHERE id = ?"
_LIST = "SELECT body FROM problem ORDER BY created_at DESC, id DESC LIMIT ?"
_LIST_IN_STATE = (
    "SELECT body FROM problem WHERE state = ? ORDER BY created_at DESC, id DESC LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class ProblemRow:
    """A problem encoded for the writer thread, and the version it must replace."""

    id: str
    version: int
    state: str
    created_at: int
    body: bytes

    @classmethod
    def of(cls, problem: Problem) -> ProblemRow:
        """Encodes ``problem`` (on the caller's thread, not the writer's)."""
        return cls(
            problem.id,
            problem.version,
            problem.state.value,
            micros(problem.created_at),
            encode_problem(problem),
        )


def write(
    conn: sqlite3.Connection,
    row: ProblemRow,
    incidents: Callable[[sqlite3.Connection], None] | None = None,
) -> None:
    """Writes the problem over the version before it, then ``incidents`` (their commit).

    Raises ProblemConflict when the stored version is not ``row.version - 1`` (0: none);
    the incident commit raises VersionConflict itself. The caller's SAVEPOINT undoes both.
    """
    found = conn.execute(_VERSION, (row.id,)).fetchone()
    stored = 0 if found is None else int(found[0])
    if stored != row.version - 1:
        raise ProblemConflict(f"problem {row.id} is at version {stored}")
    if incidents is not None:
        incidents(conn)
    conn.execute(_UPSERT, (row.id, row.version, row.state, row.created_at, row.body))


def read_problem(conn: sqlite3.Connection, problem_id: str) -> Problem | None:
    """Returns the problem, or None."""
    found = conn.execute(_GET, (problem_id,)).fetchone()
    return None if found is None else decode_problem(found[0])


def read_problems(
    conn: sqlite3.Connection, state: ProblemState | None, limit: int
) -> list[Problem]:
    """Returns up to ``limit`` problems (in ``state``), newest first, through an index."""
    if limit <= 0:
        return []
    if state is None:
        rows = conn.execute(_LIST, (limit,)).fetchall()
    else:
        rows = conn.execute(_LIST_IN_STATE, (state.value, limit)).fetchall()
    return [decode_problem(body) for (body,) in rows]
