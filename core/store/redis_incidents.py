"""The incident half of the Redis store: incidents with their alerts, timelines, silences.

``redis_scripts`` has the key layout and the Lua scripts that write. Reading an
incident takes its hash and its alerts hash in one MULTI/EXEC, so the two come from
the same commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.codec import (
    alert_bodies,
    decode_event,
    decode_incident,
    decode_silence,
    documents_by_fingerprint,
    encode_silence,
    inline_alerts,
)
from core.incident import OPEN_STATES, Incident, IncidentEvent
from core.silence import Silence
from core.store import (
    CorrelationCommit,
    IncidentAlertBodies,
    IncidentDocuments,
    IncidentQuery,
    VersionConflict,
)
from core.store.redis_incident_index import IncidentIndex
from core.store.redis_scripts import COMMIT_LUA, INDEX_OLDER_LUA, RedisKeys, commit_arguments
from core.store.redis_support import text, translated
from core.timestamps import micros

# How many incidents list_incidents fetches per round trip when it filters them itself.
_LIST_PAGE = 200
# From this many alerts on, a read decodes them in a worker thread (a few milliseconds'
# work on the loop below it, cheaper than the thread's hand-off).
_DECODE_IN_THREAD = 2_000
# About how many alerts one MULTI/EXEC of ``open_incident_alert_bodies`` reads.
_READ_PIECE = 10_000


class RedisIncidents:
    """Incidents, their timelines, group heads and silences, on the store's connection pool."""

    def __init__(self, keys: RedisKeys, client: Callable[[], Redis]) -> None:
        """``client`` returns the open pool, or raises StoreUnavailable once it is closed."""
        self._keys = keys
        self._client = client
        self._commit_script: AsyncScript | None = None
        # Whether the sweep index is known to hold every incident an earlier Tocsin stored.
        self._sweep_ready = False
        self._index = IncidentIndex(keys)

    async def commit(self, commit: CorrelationCommit) -> None:
        """Runs the commit script; raises VersionConflict if a version or head moved."""
        client = self._client()
        if self._commit_script is None:
            self._commit_script = client.register_script(COMMIT_LUA)
        keys, args = commit_arguments(self._keys, commit)
        with translated("commit incidents"):
            outcome = await self._commit_script(keys=keys, args=args, client=client)
        if text(outcome) != "OK":
            raise VersionConflict(text(outcome))

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident with all its alerts, or None."""
        client = self._client()
        with translated("read an incident"):
            [incident] = await self._read(client, [incident_id], with_alerts=True)
        return incident

    async def get_incidents(self, incident_ids: Sequence[str]) -> dict[str, Incident]:
        """Returns those of the incidents that exist, with all their alerts, by id."""
        client = self._client()
        with translated("read incidents"):
            found = await self._read(client, list(dict.fromkeys(incident_ids)), with_alerts=True)
        return {incident.id: incident for incident in found if incident is not None}

    async def incident_for_group(self, group_key: str) -> Incident | None:
        """Returns the incident the group's head points to, or None."""
        client = self._client()
        with translated("read a group head"):
            incident_id = await client.get(self._keys.group(group_key))
        return None if incident_id is None else await self.get_incident(text(incident_id))

    async def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Returns the incidents the query selects, in the order IncidentQuery describes.

        Without ``sweep_due_by``, through the list indexes (``redis_incident_index``).
        With it, the sweep index up to that instant gives the candidates, so that the
        sweep reads the due incidents only; the other filters apply here, page by page,
        on the incidents' own fields, before their alerts are read.
        """
        if query.limit <= 0 or query.states == frozenset():
            return []
        client = self._client()
        if query.sweep_due_by is None:
            with translated("list incidents"):
                walk = await self._index.walk(client, query, query.limit, bounded=False)
                ids = [position.incident_id for position in walk.found]
                read = await self._read(client, ids, with_alerts=True)
            # Selected again: an incident may have changed since the walk.
            return [i for i in read if i is not None and query.selects(i)]
        filtered = _filtered_here(query)
        page = max(query.limit, _LIST_PAGE) if filtered else query.limit
        found: dict[str, Incident] = {}
        offset = 0
        with translated("list incidents"):
            if query.sweep_due_by is not None:
                await self._index_older_incidents(client)
            while len(found) < query.limit:
                ids = await self._candidates(client, query, offset, page)
                offset += len(ids)
                selected = ids
                if filtered:
                    heads = await self._read(client, ids, with_alerts=False)
                    selected = [i.id for i in heads if i is not None and query.selects(i)]
                # Selected again: an incident may have changed since it was listed or filtered.
                for incident in await self._read(client, selected, with_alerts=True):
                    if incident is not None and query.selects(incident):
                        found.setdefault(incident.id, incident)
                if len(ids) < page:
                    break
        return list(found.values())[: query.limit]

    async def open_incident_documents(self, known: Mapping[str, int]) -> list[IncidentDocuments]:
        """Returns every open incident, newest first, with its alerts as documents.

        Those of ``open_incident_alert_bodies``, decoded in a worker thread, so that
        100,000 alerts never hold the loop.
        """
        reads = await self.open_incident_alert_bodies(known)
        if all(read.bodies is None for read in reads):
            return [IncidentDocuments(read.incident, None) for read in reads]
        return await asyncio.to_thread(_as_documents, reads)

    async def open_incident_alert_bodies(
        self, known: Mapping[str, int]
    ) -> list[IncidentAlertBodies]:
        """Returns every open incident, newest first, with its alerts' bodies left encoded.

        Page by page of the opening-time index, as ``list_incidents``: the incidents' own
        fields pick the open ones; the records and alerts of those whose version is not
        in ``known`` then come in pieces of about ``_READ_PIECE`` alerts, one MULTI/EXEC
        each (the records decoded in a worker thread). The others come without alerts.
        """
        client = self._client()
        query = IncidentQuery(states=OPEN_STATES, limit=_LIST_PAGE)
        found: dict[str, IncidentAlertBodies] = {}
        offset = 0
        with translated("list open incidents"):
            while True:
                ids = await self._candidates(client, query, offset, _LIST_PAGE)
                offset += len(ids)
                heads = [i for i in await self._read(client, ids, with_alerts=False) if i]
                page = {
                    h.id: IncidentAlertBodies(h, None)
                    for h in heads
                    if h.is_open and known.get(h.id) == h.version
                }
                changed = [h.id for h in heads if h.is_open and h.id not in page]
                for piece in await self._alert_pieces(client, changed):
                    for read in await self._alert_bodies(client, piece):
                        if read is not None and read.incident.is_open:
                            page[read.incident.id] = read
                for head in heads:  # in the index's order, newest first
                    if head.id in page:
                        found.setdefault(head.id, page[head.id])
                if len(ids) < _LIST_PAGE:
                    break
        return list(found.values())

    async def _alert_pieces(self, client: Redis, incident_ids: list[str]) -> list[list[str]]:
        """Splits the incidents into runs of about ``_READ_PIECE`` alerts, in order.

        Their sizes are only a guide: an incident may gain alerts before its piece is read.
        """
        if len(incident_ids) <= 1:
            return [incident_ids] if incident_ids else []
        async with client.pipeline(transaction=False) as pipe:
            for incident_id in incident_ids:
                pipe.hlen(self._keys.incident_alerts(incident_id))
            sizes: list[int] = await pipe.execute()
        pieces: list[list[str]] = [[]]
        held = 0
        for incident_id, size in zip(incident_ids, sizes, strict=True):
            if pieces[-1] and held + size > _READ_PIECE:
                pieces.append([])
                held = 0
            pieces[-1].append(incident_id)
            held += size
        return pieces

    async def _alert_bodies(
        self, client: Redis, incident_ids: list[str]
    ) -> list[IncidentAlertBodies | None]:
        """Reads the incidents with their alerts' bodies, each incident as one commit left it.

        One MULTI/EXEC per piece: Redis answers a transaction only once it has run it
        whole, so a piece of ~10,000 alerts is a ~5 MB answer where every open incident
        at once was one of 50 MB (20 storm incidents), held in Redis' output buffer and
        then in the client's. HVALS, not HGETALL: the alerts' fingerprints are in their
        documents, and a list of bodies is half the objects of a field/value dict.
        """
        async with client.pipeline(transaction=True) as pipe:
            for incident_id in incident_ids:
                pipe.hmget(self._keys.incident(incident_id), "record", "body")
                pipe.hvals(self._keys.incident_alerts(incident_id))
            replies: list[Any] = await pipe.execute()
        return await asyncio.to_thread(_decode_bodies, replies)

    async def _candidates(
        self, client: Redis, query: IncidentQuery, offset: int, count: int
    ) -> list[str]:
        """Returns the ids of one page of the sorted set that orders the query's incidents."""
        return await query_candidates(client, self._keys, query, offset, count)

    async def _index_older_incidents(self, client: Redis) -> None:
        """Puts every incident an earlier Tocsin stored into the sweep index, once.

        Done on the first query by sweep time, not when the store opens, because opening
        does not wait for Redis. ZSCAN returns every incident there all along; any created
        meanwhile is written by a commit, which indexes it. Several stores doing it at once
        add the same entries (see :data:`INDEX_OLDER_LUA`).
        """
        if self._sweep_ready:
            return
        if not await client.exists(self._keys.sweep_ready):
            script = client.register_script(INDEX_OLDER_LUA)
            cursor = 0
            while True:
                cursor, pairs = await client.zscan(self._keys.opened, cursor, count=_LIST_PAGE)
                ids = [text(member) for member, _ in pairs if isinstance(member, bytes | str)]
                await self._index_older(client, script, ids)
                if cursor == 0:
                    break
            await client.set(self._keys.sweep_ready, 1)
        self._sweep_ready = True

    async def _index_older(self, client: Redis, script: AsyncScript, ids: Sequence[str]) -> None:
        """Indexes those of the incidents that read back with a sweep_at, if not indexed."""
        if not ids:
            return
        async with client.pipeline(transaction=False) as pipe:
            for incident_id in ids:
                pipe.hmget(self._keys.incident(incident_id), "version", "record", "body")
            replies: list[Any] = await pipe.execute()
        keys: list[str] = [self._keys.sweep]
        args: list[str | int] = []
        for version, record, body in replies:
            incident = _incident(record, body, ())
            if version is None or incident is None or incident.sweep_at is None:
                continue
            keys.append(self._keys.incident(incident.id))
            args += [incident.id, text(version), micros(incident.sweep_at)]
        if args:
            await script(keys=keys, args=args, client=client)

    async def _read(
        self, client: Redis, ids: Sequence[str], *, with_alerts: bool
    ) -> list[Incident | None]:
        """Returns the incidents in one round trip, None for those that do not exist.

        Without alerts, only the alerts that an incident of the old layout holds inline
        come with it: enough to filter on its own fields.
        """
        if not ids:
            return []
        # MULTI/EXEC when the alerts come too: an incident and its alerts of one commit.
        async with client.pipeline(transaction=with_alerts) as pipe:
            for incident_id in ids:
                pipe.hmget(self._keys.incident(incident_id), "record", "body")
                if with_alerts:
                    pipe.hgetall(self._keys.incident_alerts(incident_id))
            replies: list[Any] = await pipe.execute()
        if not with_alerts:
            return [_incident(record, body, ()) for record, body in replies]
        if sum(len(found) for found in replies[1::2]) < _DECODE_IN_THREAD:
            return _decode_incidents(replies)
        # Decoded in a worker thread: a storm incident's alerts took the loop for seconds
        # (issue 9 item 2: the correlator's loop stopped ticking in a sweep of one).
        return await asyncio.to_thread(_decode_incidents, replies)

    async def incident_events(self, incident_id: str) -> list[IncidentEvent]:
        """Returns the incident's timeline in the order it was written."""
        client = self._client()
        with translated("read an incident timeline"):
            bodies = await client.lrange(self._keys.events(incident_id), 0, -1)
        return [decode_event(body) for body in bodies]

    async def save_silence(self, silence: Silence) -> None:
        """Creates or replaces the silence."""
        client = self._client()
        with translated("save a silence"):
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(self._keys.silences, silence.id, encode_silence(silence))
                pipe.set(self._keys.silences_revision, uuid.uuid4().hex)
                await pipe.execute()

    async def get_silence(self, silence_id: str) -> Silence | None:
        """Returns the silence, or None."""
        client = self._client()
        with translated("read a silence"):
            body = await client.hget(self._keys.silences, silence_id)
        return None if body is None else decode_silence(body)

    async def list_silences(self) -> list[Silence]:
        """Returns every silence, newest first by creation time, then id."""
        client = self._client()
        with translated("list silences"):
            bodies = await client.hvals(self._keys.silences)
        silences = [decode_silence(body) for body in bodies]
        return sorted(silences, key=lambda s: (s.created_at, s.id), reverse=True)

    async def silences_revision(self) -> str:
        """Returns the token set with the last change of the silences ("" if none)."""
        client = self._client()
        with translated("read the silences' revision"):
            token = await client.get(self._keys.silences_revision)
        return "" if token is None else text(token)

    async def count_silences(self) -> int:
        """Returns how many silences are stored, expired ones included."""
        client = self._client()
        with translated("count silences"):
            return int(await client.hlen(self._keys.silences))

    async def delete_expired_silences(self, ended_before: datetime) -> int:
        """Deletes the silences that ended before ``ended_before``; returns how many.

        An ended silence is never saved again (expiring one that ended is refused), so
        deleting by id what the read found ended deletes nothing still in use.
        """
        client = self._client()
        with translated("list silences"):
            bodies = await client.hvals(self._keys.silences)
        ended = [s.id for s in map(decode_silence, bodies) if s.ends_at < ended_before]
        if not ended:
            return 0
        with translated("delete expired silences"):
            async with client.pipeline(transaction=True) as pipe:
                pipe.hdel(self._keys.silences, *ended)
                pipe.set(self._keys.silences_revision, uuid.uuid4().hex)
                deleted, _ = await pipe.execute()
        return int(deleted)


def _incident(record: bytes | None, body: bytes | None, alerts: Iterable[bytes]) -> Incident | None:
    """Decodes an incident from its hash's fields and its alerts hash's values."""
    if record is None:
        # Never written since alerts were kept apart (or absent): the body has it all.
        return None if body is None else decode_incident(body, alerts)
    if body is None:
        return decode_incident(record, alerts)
    # Written since, over an incident of the old layout: the alerts not written since are
    # still only in the old body, and those written since replace theirs.
    return decode_incident(record, [*inline_alerts(body), *alerts])


def _decode_incidents(replies: list[Any]) -> list[Incident | None]:
    """Decodes (record, body) and alerts-hash replies, in pairs, as in ``_read``."""
    fields, alerts = replies[0::2], replies[1::2]
    return [
        _incident(record, body, found.values())
        for (record, body), found in zip(fields, alerts, strict=True)
    ]


def _decode_bodies(replies: list[Any]) -> list[IncidentAlertBodies | None]:
    """Decodes (record, body) and alerts-hash values replies, in pairs."""
    fields, alerts = replies[0::2], replies[1::2]
    return [
        _bodies(record, body, values) for (record, body), values in zip(fields, alerts, strict=True)
    ]


def _bodies(
    record: bytes | None, body: bytes | None, alerts: Iterable[bytes]
) -> IncidentAlertBodies | None:
    """Decodes an incident as :func:`_incident` does, its alerts left encoded."""
    if record is None:
        if body is None:
            return None
        return IncidentAlertBodies(*alert_bodies(decode_incident(body), alerts))
    if body is None:
        return IncidentAlertBodies(*alert_bodies(decode_incident(record), alerts))
    stored = [*inline_alerts(body), *alerts]
    return IncidentAlertBodies(*alert_bodies(decode_incident(record), stored))


def _as_documents(reads: list[IncidentAlertBodies]) -> list[IncidentDocuments]:
    return [
        IncidentDocuments(
            read.incident, None if read.bodies is None else documents_by_fingerprint(read.bodies)
        )
        for read in reads
    ]


def _filtered_here(query: IncidentQuery) -> bool:
    """Tells whether the query has filters that the sorted set it reads does not answer."""
    if query.states is not None or query.service is not None:
        return True
    # The sweep index knows nothing of opening times.
    opened = query.opened_after is not None or query.opened_before is not None
    return query.sweep_due_by is not None and opened


async def query_candidates(
    client: Redis, keys: RedisKeys, query: IncidentQuery, offset: int, count: int
) -> list[str]:
    """Returns the ids of one page of the sorted set that orders the query's incidents.

    Newest opened first, within ``opened_after``/``opened_before``; or, for a sweep query,
    those due by ``sweep_due_by``. Shared by the full and the summary listings.
    """
    if query.sweep_due_by is None:
        newest = "+inf" if query.opened_before is None else f"({micros(query.opened_before)}"
        oldest = "-inf" if query.opened_after is None else str(micros(query.opened_after))
        members = await client.zrevrangebyscore(
            keys.opened, newest, oldest, start=offset, num=count
        )
    else:
        due = micros(query.sweep_due_by)
        members = await client.zrangebyscore(keys.sweep, "-inf", due, start=offset, num=count)
    # Without withscores, redis-py gives the bare members.
    return [text(member) for member in members if isinstance(member, bytes | str)]
