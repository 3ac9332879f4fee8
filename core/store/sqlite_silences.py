"""The SQLite store's silences: rows of the ``silence`` table and their revision token.

A mixin of :class:`core.store.sqlite.SQLiteStore`, which gives it the group-commit
writer (``_write``) and the reader (``_query``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.codec import decode_silence, encode_silence
from core.silence import Silence
from core.store import sqlite_incidents as sql
from core.timestamps import micros

# One write of a group commit, run in the writer thread inside its transaction.
WriteOp = Callable[[sqlite3.Connection], None]


class SQLiteSilences:
    """``SilenceStore`` on SQLite: saving bumps the revision in the same transaction."""

    async def _write(self, op: WriteOp) -> None:
        raise NotImplementedError  # SQLiteStore's group commit

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # SQLiteStore's reader

    async def save_silence(self, silence: Silence) -> None:
        """Creates or replaces the silence in the next group commit."""
        row = (silence.id, micros(silence.created_at), encode_silence(silence))

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(sql.UPSERT_SILENCE, row)
            conn.execute(sql.BUMP_SILENCE_REVISION)

        await self._write(upsert)

    async def get_silence(self, silence_id: str) -> Silence | None:
        """Returns the silence, or None."""
        rows = await self._query(sql.SILENCE, (silence_id,))
        return decode_silence(rows[0][0]) if rows else None

    async def list_silences(self) -> list[Silence]:
        """Returns every silence, newest first by creation time, then id."""
        rows = await self._query(sql.SILENCES, ())
        return [decode_silence(body) for (body,) in rows]

    async def silences_revision(self) -> str:
        """Returns the token written with the last change of the silences ("" if none)."""
        rows = await self._query(sql.SILENCE_REVISION, ())
        return str(rows[0][0]) if rows else ""

    async def count_silences(self) -> int:
        """Returns how many silences the file holds, expired ones included."""
        rows = await self._query(sql.SILENCE_COUNT, ())
        return int(rows[0][0])

    async def delete_expired_silences(self, ended_before: datetime) -> int:
        """Deletes, in the next group commit, the silences that ended before ``ended_before``."""
        deleted = 0

        def delete(conn: sqlite3.Connection) -> None:
            nonlocal deleted
            deleted = conn.execute(
                sql.DELETE_SILENCES_ENDED_BEFORE, (micros(ended_before),)
            ).rowcount
            if deleted:
                conn.execute(sql.BUMP_SILENCE_REVISION)

        await self._write(delete)
        return deleted
