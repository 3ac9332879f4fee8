"""The incident list's SQL on SQLite: each filter through an index ordered by opening time.

The incident row carries a column per list filter (state, priority, service, team,
category, assignee), written by every commit, and ``title_key``, the casefolded title.
Each filter column has an index on (column, opened_at, id), so that a list by one filter
reads its page in the list's order and stops.

A title text (``title_contains``) is looked for two ways (:func:`select_rows`): first
in the newest :data:`SCAN_FIRST` incidents the other filters select, title by title
(``incident_by_title``, on (opened_at, id, title_key), serves that walk without reading
a row when there is no other filter): a text that many titles hold fills its page
there. When it does not and more incidents remain, few titles hold it, and the FTS5
trigram index ``incident_title`` (kept by triggers on ``title_key``) finds them all at
once, at a cost proportional to how many hold it. Neither way reads all of 100,000
incidents; a text under three characters, which trigrams cannot find, is the exception.
``sqlite_migrations`` adds the columns, indexes and triggers to earlier databases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from typing import Any

import orjson

from core.codec import stored_state_names
from core.incident import OPEN_STATES, Incident, IncidentState
from core.store import IncidentPage, IncidentQuery, IncidentSummary, ListPosition
from core.timestamps import micros

# The list's indexes and the title index's triggers, statement by statement: created by
# the migration, for new databases and old ones alike, after it filled the columns.
LIST_INDEXES = (
    "CREATE INDEX IF NOT EXISTS incident_by_state_opened ON incident (state, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_priority ON incident (priority, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_service ON incident (service, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_team ON incident (team, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_category ON incident (category, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_assignee ON incident (assignee, opened_at, id)",
    "CREATE INDEX IF NOT EXISTS incident_by_title ON incident (opened_at, id, title_key)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS incident_title USING fts5(
        title_key, content='incident', content_rowid='rowid', tokenize='trigram'
    )""",
    """CREATE TRIGGER IF NOT EXISTS incident_title_added AFTER INSERT ON incident BEGIN
        INSERT INTO incident_title (rowid, title_key) VALUES (new.rowid, new.title_key);
    END""",
    # Only when the title changed: most commits of an incident leave it as it was.
    """CREATE TRIGGER IF NOT EXISTS incident_title_changed
    AFTER UPDATE OF title_key ON incident WHEN old.title_key IS NOT new.title_key BEGIN
        INSERT INTO incident_title (incident_title, rowid, title_key)
        VALUES ('delete', old.rowid, old.title_key);
        INSERT INTO incident_title (rowid, title_key) VALUES (new.rowid, new.title_key);
    END""",
    """CREATE TRIGGER IF NOT EXISTS incident_title_deleted AFTER DELETE ON incident BEGIN
        INSERT INTO incident_title (incident_title, rowid, title_key)
        VALUES ('delete', old.rowid, old.title_key);
    END""",
    # The titles already stored, read from the incident table.
    "INSERT INTO incident_title (incident_title) VALUES ('rebuild')",
)

# How many incidents a title search compares one by one before it asks the trigram index.
SCAN_FIRST = 5_000
# Trigrams: a shorter text matches no entry of the index.
_TRIGRAM = 3

# The columns listed_columns gives values for, in its order.
LISTED = ("priority", "team", "category", "assignee", "title_key")


def listed_columns(incident: Incident) -> tuple[str | None, ...]:
    """The values of the incident's :data:`LISTED` columns, as a commit writes them."""
    return (
        incident.priority,
        incident.team,
        incident.category,
        incident.assignee,
        incident.title.casefold(),
    )


def select_rows(conn: sqlite3.Connection, query: IncidentQuery) -> list[tuple[Any, ...]]:
    """Returns the (id, body) rows ``query`` selects, in its order (see the module)."""
    text = query.title_contains
    # FTS5 reads a string up to a NUL only, and refuses it as unterminated.
    if (
        text is None
        or query.sweep_due_by is not None
        or len(text.casefold()) < _TRIGRAM
        or "\x00" in text
    ):
        return conn.execute(*list_incidents_sql(query)).fetchall()
    scan, params = _recent_titles_sql(query)
    rows = conn.execute(scan, params).fetchall()
    if len(rows) >= query.limit >= 0:
        return rows
    # Were there more incidents than the walk compared? Counted on the filters' index.
    walked, walked_params = list_incidents_sql(
        query, select="1", title=False, limit=SCAN_FIRST + 1
    )
    count = f"SELECT count(*) FROM ({walked})"  # noqa: S608 (placeholders only, as below)
    (candidates,) = conn.execute(count, walked_params).fetchone()
    if candidates <= SCAN_FIRST:
        return rows
    return conn.execute(*list_incidents_sql(query, trigrams=True)).fetchall()


def _recent_titles_sql(query: IncidentQuery) -> tuple[str, tuple[Any, ...]]:
    """The newest SCAN_FIRST incidents the other filters select, kept if the title holds it."""
    assert query.title_contains is not None
    walked, params = list_incidents_sql(
        query, select="rowid AS r, opened_at, id, title_key", title=False, limit=SCAN_FIRST
    )
    sql = (
        f"SELECT incident.id, incident.body FROM ({walked}) AS walked "  # noqa: S608
        "JOIN incident ON incident.rowid = walked.r WHERE instr(walked.title_key, ?) > 0 "
        "ORDER BY walked.opened_at DESC, walked.id DESC LIMIT ?"
    )
    return sql, (*params, query.title_contains.casefold(), query.limit)


def list_incidents_sql(
    query: IncidentQuery,
    *,
    select: str = "id, body",
    title: bool = True,
    trigrams: bool = False,
    limit: int | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """Returns the SELECT of the ids and bodies ``query`` selects, and its parameters.

    ``select`` other columns instead; without ``title``, the title text is left out;
    with ``trigrams``, the rows whose title holds it come from the trigram index;
    ``limit`` replaces the query's.
    """
    where: list[str] = []
    params: list[Any] = []
    if query.states is not None:
        # Former names too: an incident last written as "reopened" is a triggered one.
        _one_of(where, params, "state", stored_state_names(query.states))
    if query.priorities is not None:
        _one_of(where, params, "priority", sorted(query.priorities))
    for column, value in (
        ("service", query.service),
        ("team", query.team),
        ("category", query.category),
        ("assignee", query.assignee),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.opened_after is not None:
        where.append("opened_at >= ?")
        params.append(micros(query.opened_after))
    if query.opened_before is not None:
        where.append("opened_at < ?")
        params.append(micros(query.opened_before))
    if query.after is not None:
        # A row value: SQLite walks the (…, opened_at, id) indexes from the position.
        where.append("(opened_at, id) < (?, ?)")
        params += [micros(query.after.opened_at), query.after.incident_id]
    if query.title_contains is not None and title:
        text = query.title_contains.casefold()
        if trigrams:
            # One FTS5 string: a substring for the trigram tokenizer, quotes doubled.
            where.append("rowid IN (SELECT rowid FROM incident_title WHERE incident_title MATCH ?)")
            params.append('"' + text.replace('"', '""') + '"')
        where.append("instr(title_key, ?) > 0")
        params.append(text)
    if query.sweep_due_by is not None:
        # IS NOT NULL as the partial index incident_by_sweep says, so that it serves.
        where.append("sweep_at IS NOT NULL AND sweep_at <= ?")
        params.append(micros(query.sweep_due_by))
    # Only "?" placeholders and fixed column names (``select`` too) are formatted in.
    sql = f"SELECT {select} FROM incident"  # noqa: S608
    if query.sweep_due_by is not None:
        # Left to itself, SQLite prefers incident_by_state_opened for "state IN" and reads
        # every open incident: the very cost this index exists to save the sweep.
        sql += " INDEXED BY incident_by_sweep"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.sweep_due_by is not None:
        sql += " ORDER BY sweep_at, id LIMIT ?"
    else:
        sql += " ORDER BY opened_at DESC, id DESC LIMIT ?"
    params.append(query.limit if limit is None else limit)
    return sql, tuple(params)


def _one_of(where: list[str], params: list[Any], column: str, values: list[str]) -> None:
    where.append(f"{column} IN ({', '.join('?' * len(values))})")
    params.extend(values)


def page_of(summaries: list[IncidentSummary], limit: int) -> IncidentPage:
    """The page of the first ``limit`` of ``summaries``, read with a limit of one more.

    The one more says whether a next page exists; it starts after the page's last.
    """
    if limit <= 0 or len(summaries) <= limit:
        return IncidentPage(summaries, None)
    last = summaries[limit - 1].incident
    return IncidentPage(summaries[:limit], ListPosition(last.opened_at, last.id))


# The open incidents by state and priority, counted through the state index: the states
# come as one JSON array of stored names.
OPEN_COUNTS = """
SELECT state, priority, count(*) FROM incident
WHERE state IN (SELECT value FROM json_each(?)) GROUP BY state, priority
"""


def open_count_parameters() -> tuple[bytes]:
    """The parameters of :data:`OPEN_COUNTS`: every stored name of an open state."""
    return (orjson.dumps(stored_state_names(OPEN_STATES)),)


def open_counts(
    rows: Iterable[tuple[str, str | None, int]], priorities: Collection[str]
) -> dict[tuple[IncidentState, str | None], int]:
    """The counts of :data:`OPEN_COUNTS` rows by state and priority (see the protocol)."""
    # A stored name is the state's own, or a former one (reopened: triggered).
    state_of = {name: state for state in OPEN_STATES for name in stored_state_names({state})}
    counts: dict[tuple[IncidentState, str | None], int] = {}
    for name, priority, count in rows:
        key = (state_of[name], priority if priority in priorities else None)
        counts[key] = counts.get(key, 0) + count
    return counts
