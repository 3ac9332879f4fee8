"""The incident list's SQL on SQLite: each filter through an index ordered by opening time.

The incident row carries a column per list filter (state, priority, service, team,
category, assignee), written by every commit, and ``title_key``, the casefolded title.
Each filter column has an index on (column, opened_at, id), so that a list by one filter
reads its page in the list's order and stops; ``incident_by_title`` (opened_at, id,
title_key) lets a search by title alone walk the opening-time order without reading a
row until a title matches. With 100,000 incidents and a title that no incident holds, that
walk reads the whole index: a few tens of milliseconds (bench/incidents_api.py).
``sqlite_migrations`` adds the columns and indexes to databases of an earlier layout.
"""

from __future__ import annotations

from typing import Any

from core.codec import stored_state_names
from core.incident import Incident
from core.store import IncidentPage, IncidentQuery, IncidentSummary, ListPosition
from core.timestamps import micros

# The list's indexes: created by the migration, for new databases and old ones alike.
LIST_INDEXES = """
CREATE INDEX IF NOT EXISTS incident_by_state_opened ON incident (state, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_priority ON incident (priority, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_service ON incident (service, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_team ON incident (team, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_category ON incident (category, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_assignee ON incident (assignee, opened_at, id);
CREATE INDEX IF NOT EXISTS incident_by_title ON incident (opened_at, id, title_key);
"""

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


def list_incidents_sql(query: IncidentQuery) -> tuple[str, tuple[Any, ...]]:
    """Returns the SELECT of the ids and bodies ``query`` selects, and its parameters."""
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
    if query.title_contains is not None:
        where.append("instr(title_key, ?) > 0")
        params.append(query.title_contains.casefold())
    if query.sweep_due_by is not None:
        # IS NOT NULL as the partial index incident_by_sweep says, so that it serves.
        where.append("sweep_at IS NOT NULL AND sweep_at <= ?")
        params.append(micros(query.sweep_due_by))
    # Only "?" placeholders and fixed column names are formatted into the text.
    sql = "SELECT id, body FROM incident"
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
    params.append(query.limit)
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
