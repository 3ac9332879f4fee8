"""The embedded SQLite store: one file in WAL mode, written by one thread with group commit.

All writes go through a single writer thread. It takes every write waiting in its queue,
runs them in one transaction and commits once, so concurrent requests share the cost of
one fsync (group commit). Each caller awaits a future that resolves only after that
commit returned, which is when the HTTP answer may say "stored".

Each write runs in its own SAVEPOINT within the shared transaction: a write whose
precondition fails (a StoreError such as VersionConflict) is rolled back alone and only
its caller sees the error, while the rest of the batch commits. A SQLite error fails the
whole batch.

The SQL for incidents and their alerts, timelines, group heads and silences is in
``sqlite_incidents``; ``sqlite_migrations`` converts the files of earlier versions.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import sqlite3
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import orjson

from core.codec import decode_event
from core.errors import StoreError, StoreUnavailable
from core.incident import Incident, IncidentEvent, IncidentState
from core.model import Alert, LogEntry, new_log_entry
from core.problems import Problem, ProblemState
from core.store import (
    OPERATOR_GROUP,
    AlertPage,
    CorrelationCommit,
    IncidentAlertBodies,
    IncidentDocuments,
    IncidentPage,
    IncidentQuery,
    IncidentSummary,
)
from core.store import sqlite_events as stream
from core.store import sqlite_freshness as freshness
from core.store import sqlite_incident_pages as pages
from core.store import sqlite_incidents as sql
from core.store import sqlite_problems as problems
from core.store.events import ConsumerWrite, EventBatch, TimelineNote
from core.store.sqlite_incident_list import (
    OPEN_COUNTS,
    open_count_parameters,
    open_counts,
    page_of,
)
from core.store.sqlite_migrations import migrate
from core.store.sqlite_silences import SQLiteSilences, WriteOp
from core.store.writer_lock import WriterLock
from core.timestamps import micros

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_log (
    seq INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_cursor (
    consumer TEXT PRIMARY KEY,
    cursor TEXT NOT NULL
);
"""

# How many queued writes one transaction takes at most; bounds the latency of the first.
_MAX_WRITES_PER_COMMIT = 512


_T = TypeVar("_T")


@dataclass(slots=True)
class _PendingWrite:
    op: WriteOp
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class SQLiteStore(SQLiteSilences):
    """Store backend on one SQLite file; safe for one process, many concurrent requests."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        if synchronous not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        self._path = path
        self._synchronous = synchronous
        self._queue: queue.SimpleQueue[_PendingWrite | object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        # Set by close(): a write queued behind the writer's stop would wait forever.
        self._stopping = False
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        # Reads run one at a time (the lock) on one thread of their own: spread over the
        # default executor's threads, a large read's memory came from a different malloc
        # arena each time, and the process kept every arena's high-water mark.
        self._reads: ThreadPoolExecutor | None = None
        self._writer_lock = WriterLock(path)
        self._identity: str | None = None

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def open(self) -> None:
        """Creates the schema if needed and starts the writer thread."""
        self._stopping = False
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        self._writer = threading.Thread(
            target=self._write_loop, args=(ready, loop), name="tocsin-sqlite-writer", daemon=True
        )
        self._writer.start()
        await ready
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sqlite-reader")
        self._reader = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL fsyncs the WAL at every commit: an acknowledged alert survives power loss.
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def _write_loop(self, ready: asyncio.Future[None], loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._writer_lock.open()
            conn = self._connect()
            with self._writer_lock:
                conn.executescript(_SCHEMA)
                conn.executescript(sql.SCHEMA)
                conn.executescript(pages.SCHEMA)
                conn.executescript(stream.SCHEMA)
                conn.executescript(freshness.SCHEMA)
                conn.executescript(problems.SCHEMA)
                migrate(conn)
                freshness.ensure_identity(conn)
        except (sqlite3.Error, OSError) as exc:
            self._writer_lock.close()
            loop.call_soon_threadsafe(
                _fail, ready, StoreUnavailable(f"cannot open {self._path}"), exc
            )
            return
        except Exception as exc:
            # An incident the migration cannot read: open() must fail, not wait forever.
            self._writer_lock.close()
            loop.call_soon_threadsafe(
                _fail, ready, StoreError(f"cannot bring {self._path} up to date"), exc
            )
            return
        loop.call_soon_threadsafe(_succeed, ready)
        while True:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < _MAX_WRITES_PER_COMMIT:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop_after = _STOP in batch
            writes = [w for w in batch if isinstance(w, _PendingWrite)]
            with self._writer_lock:
                self._commit(conn, writes)
            if stop_after:
                break
        conn.close()
        self._writer_lock.close()

    @staticmethod
    def _commit(conn: sqlite3.Connection, writes: list[_PendingWrite]) -> None:
        refused: dict[int, StoreError] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
            for index, write in enumerate(writes):
                conn.execute("SAVEPOINT write")
                try:
                    write.op(conn)
                except StoreError as exc:
                    # This caller's precondition failed: undo its write only.
                    conn.execute("ROLLBACK TO write")
                    refused[index] = exc
                conn.execute("RELEASE write")
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # A bug in one write must not kill the writer thread and strand every caller.
            error: type[StoreError] = (
                StoreUnavailable if isinstance(exc, sqlite3.Error) else StoreError
            )
            for write in writes:
                write.loop.call_soon_threadsafe(
                    _fail, write.future, error("SQLite write failed"), exc
                )
            return
        for index, write in enumerate(writes):
            if index in refused:
                write.loop.call_soon_threadsafe(_refuse, write.future, refused[index])
            else:
                write.loop.call_soon_threadsafe(_succeed, write.future)

    async def _write(self, op: WriteOp) -> None:
        if self._stopping or self._writer is None or not self._writer.is_alive():
            raise StoreUnavailable("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_PendingWrite(op, future, loop))
        await future

    async def append(self, alerts: Sequence[Alert]) -> None:
        """Appends alerts in order; returns once they are committed."""
        rows = [(a.fingerprint, a.status.value, a.to_json()) for a in alerts]
        if not rows:
            return

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO alert_log (fingerprint, status, body) VALUES (?, ?, ?)", rows
            )

        await self._write(insert)

    async def extend_ends(self, ends: Mapping[str, datetime]) -> None:
        """Records later ends in the next group commit (beside concurrent appends)."""
        if not ends:
            return
        rows = freshness.extend_op(ends)
        await self._write(lambda conn: freshness.extend(conn, rows))

    async def latest_ends(self, fingerprints: Collection[str]) -> dict[str, datetime]:
        """Returns the recorded end of each of ``fingerprints`` that has one."""
        if not fingerprints:
            return {}
        return await self._read(lambda conn: freshness.latest_ends(conn, fingerprints))

    async def forget_ends(self, before: datetime) -> None:
        """Deletes the recorded ends earlier than ``before``."""
        await self._write(lambda conn: freshness.forget(conn, before))

    async def identity(self) -> str:
        """The token made when the file was created: the file keeps its data while it exists."""
        if self._identity is None:
            rows = await self._query(freshness.IDENTITY, ())
            self._identity = str(rows[0][0])
        return self._identity

    async def read(self, after: str | None, limit: int) -> list[LogEntry]:
        """Returns up to ``limit`` entries after cursor ``after`` in append order."""
        start = 0 if after is None else int(after)
        rows = await self._query(
            "SELECT seq, body FROM alert_log WHERE seq > ? ORDER BY seq LIMIT ?", (start, limit)
        )
        return [new_log_entry(str(seq), Alert.from_json(body)) for seq, body in rows]

    async def load_cursor(self, consumer: str) -> str | None:
        """Returns the consumer's saved cursor, or None."""
        rows = await self._query(
            "SELECT cursor FROM consumer_cursor WHERE consumer = ?", (consumer,)
        )
        return str(rows[0][0]) if rows else None

    async def save_cursor(self, consumer: str, cursor: str) -> None:
        """Saves the consumer's cursor in the next group commit."""

        def upsert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO consumer_cursor (consumer, cursor) VALUES (?, ?) "
                "ON CONFLICT(consumer) DO UPDATE SET cursor = excluded.cursor",
                (consumer, cursor),
            )

        await self._write(upsert)

    async def claim(
        self, group: str, member: str, limit: int, *, after: str | None = None
    ) -> list[LogEntry]:
        """Returns up to ``limit`` entries after the group's cursor (or ``after``), oldest first.

        SQLite has one member per group, so ``member`` is not recorded: claims are not
        stored, and claiming again before a commit returns the same entries. A commit
        moves the cursor to the highest position it consumed, so the positions a commit
        consumes must be all those up to that one.
        """
        rows = await self._query(sql.CLAIM, (group, 0 if after is None else int(after), limit))
        return [new_log_entry(str(seq), Alert.from_json(body)) for seq, body in rows]

    async def commit(self, commit: CorrelationCommit) -> None:
        """Writes the commit in the next group commit; raises VersionConflict if it is stale."""
        await self._write(_commit_write(commit))

    async def write_problem(
        self,
        problem: Problem,
        incidents: Sequence[Incident] = (),
        events: Sequence[IncidentEvent] = (),
    ) -> None:
        """Writes the problem and the incidents' operator commit in one group-commit write."""
        row = problems.ProblemRow.of(problem)
        change = CorrelationCommit(OPERATOR_GROUP, incidents=tuple(incidents), events=tuple(events))
        write_incidents = _commit_write(change) if incidents else None
        await self._write(lambda conn: problems.write(conn, row, write_incidents))

    async def get_problem(self, problem_id: str) -> Problem | None:
        """Returns the problem, or None."""
        return await self._read(lambda conn: problems.read_problem(conn, problem_id))

    async def list_problems(self, state: ProblemState | None, limit: int) -> list[Problem]:
        """Returns up to ``limit`` problems (in ``state``), newest first."""
        return await self._read(lambda conn: problems.read_problems(conn, state, limit))

    async def incident_summaries(self, query: IncidentQuery) -> list[IncidentSummary]:
        """Returns the incidents the query selects with their counts, no alert decoded."""
        if query.limit <= 0 or query.states == frozenset():
            return []
        summaries, computed = await self._read(lambda conn: pages.read_summaries(conn, query))
        await self._keep_counts(computed)
        return summaries

    async def incident_summary(self, incident_id: str) -> IncidentSummary | None:
        """Returns the incident without its alerts, with their counts; or None."""
        summary, computed = await self._read(lambda conn: pages.read_summary(conn, incident_id))
        await self._keep_counts(computed)
        return summary

    async def count_open_incidents(
        self, priorities: Sequence[str]
    ) -> dict[tuple[IncidentState, str | None], int]:
        """Counts the open incidents by state and priority from the indexed columns."""
        rows = await self._query(OPEN_COUNTS, open_count_parameters())
        return open_counts(rows, frozenset(priorities))

    async def incident_page(self, query: IncidentQuery) -> IncidentPage:
        """Returns a page of summaries, read with one more to tell whether a next follows."""
        if query.sweep_due_by is not None:
            raise ValueError("a page of incidents is not a sweep query")
        more = await self.incident_summaries(replace(query, limit=query.limit + 1))
        return page_of(more, query.limit)

    async def _keep_counts(self, computed: list[pages.CountRow]) -> None:
        # Worked out from the alerts of an incident written before counts were kept: once.
        if computed:
            await self._write(lambda conn: pages.keep_counts(conn, computed))

    async def incident_alert_page(
        self, incident_id: str, after: str, limit: int, named: Collection[str] = ()
    ) -> AlertPage:
        """Returns a page of the incident's alerts; its batches are streamed in the reader."""
        return await self._read(
            lambda conn: pages.read_alert_page(conn, incident_id, after, limit, named)
        )

    async def incident_events_page(
        self, incident_id: str, start: int, limit: int
    ) -> tuple[list[IncidentEvent], int]:
        """Returns ``limit`` timeline events from ``start``, and how many there are."""
        return await self._read(
            lambda conn: pages.read_events_page(conn, incident_id, start, limit)
        )

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident, or None."""
        return await self._read(lambda conn: sql.read_incident(conn, incident_id))

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        """Returns those of the incidents that exist, by id, in one read transaction."""
        if not incident_ids:
            return {}
        return await self._read(lambda conn: sql.read_incidents_by_id(conn, incident_ids))

    async def incident_for_group(self, group_key: str) -> Incident | None:
        """Returns the incident the group's head points to, or None."""
        return await self._read(lambda conn: sql.read_incident_for_group(conn, group_key))

    async def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Returns the incidents the query selects, in the order IncidentQuery describes."""
        if query.limit <= 0 or query.states == frozenset():
            return []
        return await self._read(lambda conn: sql.read_incidents(conn, query))

    async def open_incident_documents(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentDocuments]:
        """Returns every open incident with its alert documents (decoded in the reader thread)."""
        held = known or {}
        return await self._read(lambda conn: sql.read_open_incident_documents(conn, held))

    async def open_incident_alert_bodies(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentAlertBodies]:
        """Returns every open incident with its alerts' bodies (read in the reader thread)."""
        held = known or {}
        return await self._read(lambda conn: sql.read_open_incident_bodies(conn, held))

    async def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        """Returns the incident's timeline in the order it was written."""
        rows = await self._query(sql.INCIDENT_EVENTS, (incident_id,))
        return [decode_event(body) for (body,) in rows]

    async def claim_events(
        self, group: str, member: str, limit: int, *, now: datetime, lease: timedelta
    ) -> EventBatch:
        """Takes the lease in the next group commit, then reads the events after the cursor."""
        held = stream.Lease()
        now_us, until_us = micros(now), micros(now + lease)

        def hold(conn: sqlite3.Connection) -> None:
            nonlocal held
            held = stream.hold(conn, group, member, now_us, until_us)

        await self._write(hold)
        after = None if held.cursor is None else str(held.cursor)
        if held.holder != member or limit <= 0:
            return EventBatch(group, member, after, holder=held.holder)
        rows = await self._query(stream.CLAIM, (held.cursor or 0, limit))
        return EventBatch(group, member, after, stream.events(rows), member)

    async def commit_events(
        self,
        batch: EventBatch,
        writes: Sequence[ConsumerWrite] = (),
        notes: Sequence[TimelineNote] = (),
    ) -> None:
        """Writes the documents, notes and cursor in the next group commit, or StreamConflict."""
        rows = stream.encode_notes(notes)
        await self._write(lambda conn: stream.commit(conn, batch, writes, rows))

    async def release_events(self, group: str, member: str) -> None:
        """Frees the group's lease if ``member`` holds it."""
        await self._write(lambda conn: stream.release(conn, group, member))

    async def event_cursor(self, group: str) -> str | None:
        """Returns the group's committed cursor, or None."""
        rows = await self._query(stream.CURSOR, (group,))
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Returns the documents of the collection stored under ``keys``."""
        if not keys:
            return {}
        rows = await self._query(stream.DOCUMENTS, (collection, orjson.dumps(list(keys))))
        return {key: orjson.loads(body) for key, body in rows}

    async def due_documents(
        self,
        collection: str,
        by: datetime,
        limit: int,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Returns the collection's documents due by ``by``, most overdue first (after
        ``after``, a due time and a key, when given)."""
        if after is None:
            rows = await self._query(stream.DUE_DOCUMENTS, (collection, micros(by), limit))
        else:
            place = (collection, micros(by), micros(after[0]), after[1], limit)
            rows = await self._query(stream.DUE_DOCUMENTS_AFTER, place)
        return [(key, orjson.loads(body)) for key, body in rows]

    async def trim_events(self, written_before: datetime) -> int:
        """Deletes, in the next group commit, the stream entries every group consumed."""
        trimmed = 0

        def trim(conn: sqlite3.Connection) -> None:
            nonlocal trimmed
            trimmed = stream.trim(conn, micros(written_before))

        await self._write(trim)
        return trimmed

    async def hold_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Always True: one process owns an SQLite file, and so every lease."""
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        """Nothing to give up: the one process always holds every lease."""

    async def live_members(self, group: str, member: str, ttl_seconds: float) -> list[str]:
        """Only this process can use an SQLite file."""
        return [member]

    async def ping(self) -> None:
        """Checks that the file can be read and the writer thread runs."""
        if self._writer is None or not self._writer.is_alive():
            raise StoreUnavailable("the SQLite writer is not running")
        await self._query("SELECT 1", ())

    async def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return await self._on_reader(lambda reader: reader.execute(sql, params).fetchall())

    async def _read(self, read: Callable[[sqlite3.Connection], _T]) -> _T:
        """Runs ``read``'s statements in one read transaction, so they see one snapshot.

        An incident and its alerts are two statements; without a snapshot a commit in
        between could pair the incident's row with alerts of a later version.
        """

        def snapshot(reader: sqlite3.Connection) -> _T:
            reader.execute("BEGIN")
            try:
                return read(reader)
            finally:
                reader.execute("ROLLBACK")

        return await self._on_reader(snapshot)

    async def _on_reader(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._reader is None:
            raise StoreUnavailable("the SQLite store is not open")

        def run() -> _T:
            # The connection is looked up under the lock: close() may have closed it
            # meanwhile, and using a closed sqlite3 connection from a thread can crash.
            with self._reader_lock:
                reader = self._reader
                if reader is None:
                    raise StoreUnavailable("the SQLite store is not open")
                return work(reader)

        reads = self._reads
        if reads is None:
            raise StoreUnavailable("the SQLite store is not open")
        context = contextvars.copy_context()  # as asyncio.to_thread: log context goes along
        try:
            return await asyncio.get_running_loop().run_in_executor(reads, context.run, run)
        except sqlite3.Error as exc:
            raise StoreUnavailable("SQLite read failed") from exc

    async def close(self) -> None:
        """Lets queued writes commit, then stops the writer and closes the file."""
        if self._writer is not None:
            self._stopping = True
            self._queue.put(_STOP)
            await asyncio.to_thread(self._writer.join)
            self._writer = None
        if self._reader is not None:
            await asyncio.to_thread(self._close_reader)
        if self._reads is not None:
            self._reads.shutdown(wait=False)
            self._reads = None

    def _close_reader(self) -> None:
        # Waits for a read in flight on another thread before closing its connection.
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def _commit_write(commit: CorrelationCommit) -> WriteOp:
    """The write of a commit's rows and its incidents' alert counts (encoded now)."""
    rows, counts = sql.CommitRows.of(commit), pages.commit_counts(commit)

    def write(conn: sqlite3.Connection) -> None:
        rows.apply(conn)
        pages.write_counts(conn, counts)

    return write


def _succeed(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None], error: Exception, cause: BaseException) -> None:
    error.__cause__ = cause
    if not future.done():
        future.set_exception(error)


def _refuse(future: asyncio.Future[None], error: StoreError) -> None:
    if not future.done():
        future.set_exception(error)
