"""The Redis store: the alert log is a Redis Stream, cursors a hash; appends use group commit.

Consumers claim log entries through consumer groups on that stream (XREADGROUP), and a
correlation commit writes incidents, group heads and timelines and acknowledges the
entries it consumed (XACK) in one Lua script. Incidents and silences are
``redis_incidents``' part; ``redis_scripts`` has the key layout and the script.

Every ``append`` goes through one flusher task. While a pipeline is in flight, new
appends wait in a queue; when it returns, the flusher sends everything that queued up
as the next single MULTI/EXEC round trip. Concurrent requests thus share one round trip
(and, with ``appendfsync always``, one fsync). Each caller awaits a future that resolves
only after Redis answered the EXEC.

Durability is Redis' AOF policy, not ours: ``appendfsync always`` fsyncs before Redis
answers, so an acknowledged alert survives a crash; ``everysec`` can lose the last second
of acknowledged alerts when the host fails; without AOF a restart loses everything since
the last snapshot. Exclusive XRANGE bounds need Redis 6.2 or later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from core.errors import StoreError, StoreUnavailable
from core.incident import Incident, IncidentEvent, IncidentState
from core.model import Alert, LogEntry, new_log_entry
from core.problems import Problem, ProblemState
from core.silence import Silence
from core.store import (
    AlertPage,
    CorrelationCommit,
    IncidentAlertBodies,
    IncidentDocuments,
    IncidentPage,
    IncidentQuery,
    IncidentSummary,
)
from core.store.events import ConsumerWrite, EventBatch, TimelineNote
from core.store.redis_events import RedisEvents
from core.store.redis_freshness import RedisFreshness
from core.store.redis_incident_pages import RedisIncidentPages
from core.store.redis_incidents import RedisIncidents
from core.store.redis_problems import RedisProblems
from core.store.redis_scripts import RedisKeys
from core.store.redis_support import text, translate, translated

# The one field of a stream entry: the alert as Alert.to_json() wrote it.
_BODY = b"alert"

# How many alerts one pipeline takes at most; bounds the latency of the first caller.
_MAX_ALERTS_PER_PIPELINE = 4096

# A couple of quick retries ride over a pooled connection that the server closed and a
# short blip; beyond that the sender should get a 503 fast and retry on its own.
# A retried XADD may duplicate an entry whose answer was lost; consumers are idempotent.
_RETRIES = 3
_BACKOFF_BASE_SECONDS = 0.05
_BACKOFF_CAP_SECONDS = 0.5
_SOCKET_TIMEOUT_SECONDS = 5.0
_CONNECT_TIMEOUT_SECONDS = 2.0


@dataclass(slots=True)
class _PendingAppend:
    bodies: list[bytes]
    future: asyncio.Future[None]
    # Alerts' later ends (AlertEnds), written in the same MULTI/EXEC as the appends.
    ends: Mapping[str, datetime] | None = None


class RedisStore:
    """Store backend on one Redis server; any number of Tocsin processes may share it."""

    def __init__(
        self, url: str, *, prefix: str = "tocsin:", claim_idle_seconds: float = 30.0
    ) -> None:
        self._url = url
        self._keys = RedisKeys(prefix)
        self._log_key = self._keys.alerts
        self._cursors_key = self._keys.cursors
        # A member that has not come back for its entries this long is taken to be dead.
        self._claim_idle_ms = int(claim_idle_seconds * 1000)
        self._groups: set[str] = set()
        self._client: Redis | None = None
        self._incidents = RedisIncidents(self._keys, self._open_client)
        self._pages = RedisIncidentPages(self._keys, self._open_client)
        self._events = RedisEvents(self._keys, self._open_client)
        self._problems = RedisProblems(self._keys, self._open_client)
        self._freshness = RedisFreshness(prefix, self._open_client)
        self._pending: deque[_PendingAppend] = deque()
        self._wakeup: asyncio.Event | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False

    async def open(self) -> None:
        """Creates the connection pool and starts the flusher; connects on first use.

        It does not wait for Redis: a replica may start before Redis does, and ``ping``
        (the readiness check) says when the store can serve.
        """
        self._client = Redis.from_url(
            self._url,
            retry=Retry(
                ExponentialWithJitterBackoff(base=_BACKOFF_BASE_SECONDS, cap=_BACKOFF_CAP_SECONDS),
                _RETRIES,
            ),
            socket_timeout=_SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        )
        self._closing = False
        self._wakeup = asyncio.Event()
        self._flusher = asyncio.create_task(self._flush_loop(), name="tocsin-redis-flusher")

    async def append(self, alerts: Sequence[Alert]) -> None:
        """Appends alerts in order; returns once Redis answered the pipeline holding them."""
        if not alerts:
            return
        if self._closing or self._wakeup is None or self._flusher is None or self._flusher.done():
            raise StoreUnavailable("the Redis store is not open")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingAppend([alert.to_json() for alert in alerts], future))
        self._wakeup.set()
        await future

    async def extend_ends(self, ends: Mapping[str, datetime]) -> None:
        """Records later ends in the next pipeline of appends; returns once Redis answered."""
        if not ends:
            return
        if self._closing or self._wakeup is None or self._flusher is None or self._flusher.done():
            raise StoreUnavailable("the Redis store is not open")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_PendingAppend([], future, ends))
        self._wakeup.set()
        await future

    async def latest_ends(self, fingerprints: Collection[str]) -> dict[str, datetime]:
        """Returns the recorded end of each of ``fingerprints`` that has one."""
        return await self._freshness.latest_ends(fingerprints)

    async def forget_ends(self, before: datetime) -> None:
        """Deletes the recorded ends earlier than ``before``."""
        await self._freshness.forget_ends(before)

    async def identity(self) -> str:
        """The store's generation token and the server's run_id (see redis_freshness)."""
        return await self._freshness.identity()

    async def read(self, after: str | None, limit: int) -> list[LogEntry]:
        """Returns up to ``limit`` entries after cursor ``after`` (a stream ID) in log order."""
        if limit <= 0:
            return []
        client = self._open_client()
        start = "-" if after is None else f"({after}"
        with translated("read the alert log"):
            rows = await client.xrange(self._log_key, min=start, max="+", count=limit)
        entries: list[LogEntry] = []
        for entry_id, fields in rows or []:
            if entry_id is None or fields is None:
                raise StoreError(f"malformed entry in {self._log_key}")
            entries.append(new_log_entry(text(entry_id), Alert.from_json(fields[_BODY])))
        return entries

    async def load_cursor(self, consumer: str) -> str | None:
        """Returns the consumer's saved cursor, or None."""
        client = self._open_client()
        with translated("load a cursor"):
            cursor = await client.hget(self._cursors_key, consumer)
        return None if cursor is None else text(cursor)

    async def save_cursor(self, consumer: str, cursor: str) -> None:
        """Saves the consumer's cursor; returns once Redis answered."""
        client = self._open_client()
        with translated("save a cursor"):
            await client.hset(self._cursors_key, consumer, cursor)

    async def claim(
        self, group: str, member: str, limit: int, *, after: str | None = None
    ) -> list[LogEntry]:
        """Returns up to ``limit`` entries for ``member`` of consumer group ``group``.

        In this order, whichever gives entries first: the entries the member claimed
        before and did not commit (so a restarted member resumes), entries another member
        left unacknowledged longer than ``claim_idle_seconds`` (that member is taken to be
        dead), and entries no member got yet. With ``after`` (the member's batch in
        flight), only entries no member got yet: the member's own unacknowledged ones are
        that batch. It does not wait for new entries.
        """
        if limit <= 0:
            return []
        client = self._open_client()
        with translated("claim alert log entries"):
            if group not in self._groups:
                await self._create_group(client, group)
            try:
                return await self._claim(client, group, member, limit, after)
            except redis_errors.ResponseError as exc:
                # The group vanished (the data was flushed or lost): start it again.
                if not str(exc).startswith("NOGROUP"):
                    raise
            await self._create_group(client, group)
            return await self._claim(client, group, member, limit, after)

    async def _create_group(self, client: Redis, group: str) -> None:
        try:
            await client.xgroup_create(self._log_key, group, id="0", mkstream=True)
        except redis_errors.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise
        self._groups.add(group)

    async def _claim(
        self, client: Redis, group: str, member: str, limit: int, after: str | None
    ) -> list[LogEntry]:
        if after is None:
            entries = await self._claimed_before(client, group, member, limit)
            if entries:
                return entries
        new = await client.xreadgroup(group, member, {self._log_key: ">"}, count=limit)
        return await self._live_entries(client, group, _read_rows(new))

    async def _claimed_before(
        self, client: Redis, group: str, member: str, limit: int
    ) -> list[LogEntry]:
        """The member's own unacknowledged entries, else those a dead member left behind."""
        # Reading its pending entries again resets their idle time: a member that keeps
        # polling keeps them, however long it works on them.
        own = await client.xreadgroup(group, member, {self._log_key: "0"}, count=limit)
        entries = await self._live_entries(client, group, _read_rows(own))
        if entries:
            return entries
        start: bytes | str = "0-0"
        while True:
            next_start, rows, *_ = await client.xautoclaim(
                self._log_key, group, member, self._claim_idle_ms, start_id=start, count=limit
            )
            entries = await self._live_entries(client, group, rows)
            if entries or text(next_start) == "0-0":
                return entries
            start = next_start

    async def _live_entries(
        self, client: Redis, group: str, rows: list[tuple[Any, Any]]
    ) -> list[LogEntry]:
        """Returns the entries of a reply; acknowledges those trimmed from the stream meanwhile."""
        entries: list[LogEntry] = []
        gone: list[bytes] = []
        for entry_id, fields in rows:
            if entry_id is None:
                continue
            if not fields or _BODY not in fields:
                gone.append(entry_id)
                continue
            entries.append(new_log_entry(text(entry_id), Alert.from_json(fields[_BODY])))
        if gone:
            await client.xack(self._log_key, group, *gone)
        return entries

    async def commit(self, commit: CorrelationCommit) -> None:
        """Writes the commit atomically; raises VersionConflict if a version or head moved."""
        await self._incidents.commit(commit)
        # The counts lists show, kept apart from the script (see redis_incident_pages).
        # The commit landed whatever happens to them: counts of another version than the
        # incident's are worked out when read, so a failed write only costs that.
        with contextlib.suppress(StoreError):
            await self._pages.committed(commit)

    async def write_problem(
        self,
        problem: Problem,
        incidents: Sequence[Incident] = (),
        events: Sequence[IncidentEvent] = (),
    ) -> None:
        """Writes the problem and the incidents' operator commit in one script."""
        change = await self._problems.write_problem(problem, incidents, events)
        if change is not None:
            with contextlib.suppress(StoreError):
                await self._pages.committed(change)

    async def get_problem(self, problem_id: str) -> Problem | None:
        """Returns the problem, or None."""
        return await self._problems.get_problem(problem_id)

    async def list_problems(self, state: ProblemState | None, limit: int) -> list[Problem]:
        """Returns up to ``limit`` problems (in ``state``), newest first."""
        return await self._problems.list_problems(state, limit)

    async def incident_summaries(self, query: IncidentQuery) -> list[IncidentSummary]:
        """Returns the incidents the query selects with their counts, no alert decoded."""
        return await self._pages.summaries(query)

    async def incident_summary(self, incident_id: str) -> IncidentSummary | None:
        """Returns the incident without its alerts, with their counts; or None."""
        return await self._pages.summary(incident_id)

    async def count_open_incidents(
        self, priorities: Sequence[str]
    ) -> dict[tuple[IncidentState, str | None], int]:
        """Counts the open incidents by state and priority from the list indexes."""
        return await self._pages.count_open(priorities)

    async def incident_page(self, query: IncidentQuery) -> IncidentPage:
        """Returns a page of summaries through the list indexes, and where the next starts."""
        return await self._pages.page(query)

    async def incident_alert_page(
        self, incident_id: str, after: str, limit: int, named: Collection[str] = ()
    ) -> AlertPage:
        """Returns a page of the incident's alerts, reading its fingerprints first."""
        return await self._pages.alert_page(incident_id, after, limit, named)

    async def incident_events_page(
        self, incident_id: str, start: int, limit: int
    ) -> tuple[list[IncidentEvent], int]:
        """Returns ``limit`` timeline events from ``start``, and how many there are."""
        return await self._pages.events_page(incident_id, start, limit)

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident, or None."""
        return await self._incidents.get_incident(incident_id)

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        """Returns those of the incidents that exist, by id, in one round trip."""
        return await self._incidents.get_incidents(incident_ids)

    async def incident_for_group(self, group_key: str) -> Incident | None:
        """Returns the incident the group's head points to, or None."""
        return await self._incidents.incident_for_group(group_key)

    async def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Returns the incidents the query selects, in the order IncidentQuery describes."""
        return await self._incidents.list_incidents(query)

    async def open_incident_documents(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentDocuments]:
        """Returns every open incident with its alerts as documents, newest first."""
        return await self._incidents.open_incident_documents(known or {})

    async def open_incident_alert_bodies(
        self, known: Mapping[str, int] | None = None
    ) -> list[IncidentAlertBodies]:
        """Returns every open incident with its alerts' bodies left encoded, newest first."""
        return await self._incidents.open_incident_alert_bodies(known or {})

    async def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        """Returns the incident's timeline in the order it was written."""
        return await self._incidents.incident_events(incident_id)

    async def claim_events(
        self, group: str, member: str, limit: int, *, now: datetime, lease: timedelta
    ) -> EventBatch:
        """Returns the events after the group's cursor if ``member`` holds its lease."""
        return await self._events.claim_events(group, member, limit, now=now, lease=lease)

    async def commit_events(
        self,
        batch: EventBatch,
        writes: Sequence[ConsumerWrite] = (),
        notes: Sequence[TimelineNote] = (),
    ) -> None:
        """Writes the consumer's documents and notes and moves its cursor, or StreamConflict."""
        await self._events.commit_events(batch, writes, notes)

    async def release_events(self, group: str, member: str) -> None:
        """Frees the group's lease if ``member`` holds it."""
        await self._events.release_events(group, member)

    async def event_cursor(self, group: str) -> str | None:
        """Returns the group's committed cursor, or None."""
        return await self._events.event_cursor(group)

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Returns the documents of the collection stored under ``keys``."""
        return await self._events.consumer_documents(collection, keys)

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
        return await self._events.due_documents(collection, by, limit, after=after)

    async def trim_events(self, written_before: datetime) -> int:
        """Deletes the stream entries every group consumed that are older than the instant."""
        return await self._events.trim_events(written_before)

    async def save_silence(self, silence: Silence) -> None:
        """Creates or replaces the silence."""
        await self._incidents.save_silence(silence)

    async def get_silence(self, silence_id: str) -> Silence | None:
        """Returns the silence, or None."""
        return await self._incidents.get_silence(silence_id)

    async def list_silences(self) -> list[Silence]:
        """Returns every silence, newest first by creation time, then id."""
        return await self._incidents.list_silences()

    async def silences_revision(self) -> str:
        """Returns a token that changes whenever a silence is saved or deleted."""
        return await self._incidents.silences_revision()

    async def count_silences(self) -> int:
        """Returns how many silences are stored, expired ones included."""
        return await self._incidents.count_silences()

    async def delete_expired_silences(self, ended_before: datetime) -> int:
        """Deletes the silences that ended before ``ended_before``; returns how many."""
        return await self._incidents.delete_expired_silences(ended_before)

    async def hold_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Takes the lease if it is free, or renews it if ``holder`` has it (Redis' clock)."""
        client = self._open_client()
        key = self._keys.lease(name)
        with translated("hold a lease"):
            held = await client.eval(_LEASE_LUA, 1, key, holder, int(ttl_seconds * 1000))
        return bool(held)

    async def release_lease(self, name: str, holder: str) -> None:
        """Deletes the lease if ``holder`` has it."""
        client = self._open_client()
        with translated("release a lease"):
            await client.eval(_RELEASE_LUA, 1, self._keys.lease(name), holder)

    async def live_members(self, group: str, member: str, ttl_seconds: float) -> list[str]:
        """Refreshes this member's presence key and lists the members whose keys live."""
        client = self._open_client()
        pattern = self._keys.member(group, "*")
        with translated("list live members"):
            await client.set(self._keys.member(group, member), member, px=int(ttl_seconds * 1000))
            names = [text(value) async for value in _member_names(client, pattern)]
        return sorted(set(names))

    async def ping(self) -> None:
        """Checks that Redis answers a PING."""
        client = self._open_client()
        with translated("ping Redis"):
            await client.ping()

    async def close(self) -> None:
        """Lets queued appends reach Redis, then stops the flusher and closes the pool."""
        self._closing = True
        if self._flusher is not None and self._wakeup is not None:
            self._wakeup.set()
            await self._flusher
            self._flusher = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _open_client(self) -> Redis:
        if self._client is None or self._closing:
            raise StoreUnavailable("the Redis store is not open")
        return self._client

    async def _flush_loop(self) -> None:
        assert self._wakeup is not None
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending:
                    batch = self._take_batch()
                    try:
                        await self._flush(batch)
                    except asyncio.CancelledError:
                        for pending in batch:
                            _fail(pending.future, StoreUnavailable("the Redis store closed"))
                        raise
                if self._closing:
                    return
        finally:
            # Cancelled (the event loop shuts down): nobody may be left waiting forever.
            while self._pending:
                _fail(self._pending.popleft().future, StoreUnavailable("the Redis store closed"))

    def _take_batch(self) -> list[_PendingAppend]:
        batch: list[_PendingAppend] = []
        alerts = 0
        while self._pending and (not batch or alerts < _MAX_ALERTS_PER_PIPELINE):
            pending = self._pending.popleft()
            # A caller that gave up (its request was cancelled) no longer needs its write.
            if pending.future.done():
                continue
            batch.append(pending)
            alerts += len(pending.bodies) + (len(pending.ends) if pending.ends else 0)
        return batch

    async def _flush(self, batch: list[_PendingAppend]) -> None:
        if not batch:
            return
        assert self._client is not None
        try:
            # MULTI/EXEC: a connection lost before EXEC leaves nothing half-written.
            async with self._client.pipeline(transaction=True) as pipe:
                for pending in batch:
                    for body in pending.bodies:
                        pipe.xadd(self._log_key, {_BODY: body})
                    if pending.ends:
                        self._freshness.queue_extend(pipe, pending.ends)
                await pipe.execute()
        except redis_errors.RedisError as exc:
            for pending in batch:
                _fail(pending.future, translate(exc, "append to the alert log"), exc)
            return
        except Exception as exc:
            # A bug here must not leave callers waiting forever, nor kill the flusher.
            for pending in batch:
                _fail(pending.future, StoreError("append to the alert log failed"), exc)
            return
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(None)


# Takes a free lease, or extends the holder's own; answers 1 when the caller holds it.
_LEASE_LUA = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""


async def _member_names(client: Redis, pattern: str) -> AsyncIterator[bytes | str]:
    # SCAN rather than KEYS: it does not block Redis however many keys there are.
    async for key in client.scan_iter(match=pattern, count=100):
        value = await client.get(key)
        if value is not None:
            yield value


def _fail(
    future: asyncio.Future[None], error: Exception, cause: BaseException | None = None
) -> None:
    if cause is not None:
        error.__cause__ = cause
    if not future.done():
        future.set_exception(error)


def _read_rows(reply: Any) -> list[tuple[Any, Any]]:
    """Returns the entries of an XREADGROUP reply on one stream (redis-py's RESP2 shape)."""
    if not reply:
        return []
    [[_stream, rows]] = reply
    return list(rows)
