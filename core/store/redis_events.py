"""The incident event stream's consumer groups on Redis (see core.store.events).

The stream is the Redis stream ``incident-events``, appended by the correlation commit
script (``redis_scripts.COMMIT_LUA``) in the same script as the change. A consumer
group is a hash with its cursor (the last stream ID it consumed) and its lease; the
lease and the commit are Lua scripts, so the checks and the writes that follow them are
atomic. Leases are judged by the caller's clock (``now``), as on SQLite, so that
replicas and tests agree on them; the commit's check of the cursor, not the lease,
keeps a batch from being applied twice.

Groups are not Redis consumer groups (XREADGROUP): those hand entries to members side by
side, and a group here must see each incident's events in order; one member works at a
time and reads with XRANGE after the cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from core.codec import encode_event
from core.store.events import (
    ConsumerWrite,
    EventBatch,
    StreamConflict,
    StreamEvent,
    TimelineNote,
    decode_stream_event,
)
from core.store.redis_scripts import RedisKeys
from core.store.redis_support import text, translated
from core.timestamps import micros

# due_documents(after=...) reads this many more than it needs, for the documents due at
# the same instant as the place it starts after (rare), which it skips; more if need be.
_TIES = 16
# KEYS: group hash, groups set. ARGV: member, now, lease end (micros), group name.
# Answers {1 if the member holds the lease, holder, cursor or ""}.
_HOLD_LUA = """
local holder = redis.call('HGET', KEYS[1], 'holder')
local cursor = redis.call('HGET', KEYS[1], 'cursor') or ''
local lease_until = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if holder and holder ~= ARGV[1] and lease_until > tonumber(ARGV[2]) then
    return {0, holder, cursor}
end
-- The member's own lease is renewed once half of it passed, not at every poll.
local now, renewed_until = tonumber(ARGV[2]), tonumber(ARGV[3])
if holder ~= ARGV[1] or lease_until - now < (renewed_until - now) / 2 then
    redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'lease_until', ARGV[3])
    redis.call('SADD', KEYS[2], ARGV[4])
end
return {1, ARGV[1], cursor}
"""

_RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then
    -- lease_until stays: when the group was last worked on (see trim_events).
    redis.call('HDEL', KEYS[1], 'holder')
end
return 'OK'
"""

# KEYS: group hash, then per write its collection's hash and due index, then per note
#       its incident's hash and timeline list.
# ARGV: the cursor expected ("" for none), the new cursor ("" for no move), the number
#       of writes, then per write its key, its document ("" to delete: a document is
#       never empty) and its due time in microseconds ("" for none); then per note its
#       timeline body.
# Everything is checked before the first write: Redis does not roll a script back.
_COMMIT_LUA = """
local cursor = redis.call('HGET', KEYS[1], 'cursor') or ''
if cursor ~= ARGV[1] then
    return 'the group is at ' .. cursor .. ', not ' .. ARGV[1]
end
local n_writes = tonumber(ARGV[3])
for i = 0, n_writes - 1 do
    local documents, due_index = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
    local key, document, due = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
    if document == '' then
        redis.call('HDEL', documents, key)
    else
        redis.call('HSET', documents, key, document)
    end
    if document == '' or due == '' then
        redis.call('ZREM', due_index, key)
    else
        redis.call('ZADD', due_index, due, key)
    end
end
-- Timeline notes: on the timelines of incidents that exist, never on the stream.
local note_key, note_arg = 2 + 2 * n_writes, 4 + 3 * n_writes
local exists = {}
for i = 0, (#KEYS - note_key + 1) / 2 - 1 do
    local incident = KEYS[note_key + 2 * i]
    if exists[incident] == nil then exists[incident] = redis.call('EXISTS', incident) == 1 end
    if exists[incident] then
        redis.call('RPUSH', KEYS[note_key + 2 * i + 1], ARGV[note_arg + i])
    end
end
if ARGV[2] ~= '' then
    redis.call('HSET', KEYS[1], 'cursor', ARGV[2])
end
return 'OK'
"""


class RedisEvents:
    """The consumer side of the incident event stream, on the store's connection pool."""

    def __init__(self, keys: RedisKeys, client: Callable[[], Redis]) -> None:
        """``client`` returns the open pool, or raises StoreUnavailable once it is closed."""
        self._keys = keys
        self._client = client

    async def claim_events(
        self, group: str, member: str, limit: int, *, now: datetime, lease: timedelta
    ) -> EventBatch:
        """Takes or renews the group's lease, then reads the events after its cursor."""
        client = self._client()
        keys = [self._keys.event_group(group), self._keys.event_groups]
        with translated("claim incident events"):
            held, holder, cursor = await client.eval(
                _HOLD_LUA, 2, *keys, member, micros(now), micros(now + lease), group
            )
            after = text(cursor) or None
            if not held or limit <= 0:
                return EventBatch(group, member, after, holder=text(holder))
            start = "-" if after is None else f"({after}"
            rows = await client.xrange(self._keys.incident_events, start, "+", count=limit)
        return EventBatch(group, member, after, tuple(map(_event, rows or [])), member)

    async def commit_events(
        self,
        batch: EventBatch,
        writes: Sequence[ConsumerWrite],
        notes: Sequence[TimelineNote] = (),
    ) -> None:
        """Runs the commit script; raises StreamConflict if the cursor moved."""
        client = self._client()
        keys = [self._keys.event_group(batch.group)]
        args: list[str | bytes | int] = [batch.after or "", batch.last or "", len(writes)]
        for write in writes:
            keys.append(self._keys.consumer_documents(write.collection))
            keys.append(self._keys.consumer_due(write.collection))
            document = b"" if write.document is None else orjson.dumps(write.document)
            args += [write.key, document, "" if write.due is None else micros(write.due)]
        for note in notes:
            keys += [self._keys.incident(note.incident_id), self._keys.events(note.incident_id)]
            args.append(encode_event(note.event))
        with translated("commit incident events"):
            outcome = await client.eval(_COMMIT_LUA, len(keys), *keys, *args)
        if text(outcome) != "OK":
            raise StreamConflict(f"group {batch.group}: {text(outcome)}")

    async def release_events(self, group: str, member: str) -> None:
        """Frees the group's lease if ``member`` holds it."""
        client = self._client()
        with translated("release an incident event lease"):
            await client.eval(_RELEASE_LUA, 1, self._keys.event_group(group), member)

    async def event_cursor(self, group: str) -> str | None:
        """Returns the group's committed cursor, or None."""
        client = self._client()
        with translated("read an incident event cursor"):
            cursor = await client.hget(self._keys.event_group(group), "cursor")
        return None if cursor is None else text(cursor)

    async def consumer_documents(
        self, collection: str, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Returns the documents of the collection stored under ``keys``."""
        if not keys:
            return {}
        client = self._client()
        with translated("read consumer documents"):
            bodies = await client.hmget(self._keys.consumer_documents(collection), list(keys))
        return {k: orjson.loads(b) for k, b in zip(keys, bodies, strict=True) if b is not None}

    async def due_documents(
        self,
        collection: str,
        by: datetime,
        limit: int,
        *,
        after: tuple[datetime, str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Returns the collection's documents due by ``by``, from its due index (a sorted set).

        Equal due times come in key order, as Redis orders members of equal score; with
        ``after``, only those after that due time and key.
        """
        if limit <= 0:
            return []
        client = self._client()
        index = self._keys.consumer_due(collection)
        with translated("read due consumer documents"):
            if after is None:
                members = await client.zrangebyscore(index, "-inf", micros(by), start=0, num=limit)
                keys = [text(member) for member in members if isinstance(member, bytes | str)]
            else:
                keys = await self._due_keys_after(index, micros(by), after, limit)
        found = await self.consumer_documents(collection, keys)
        # A document deleted between the two reads is left out.
        return [(key, found[key]) for key in keys if key in found]

    async def _due_keys_after(
        self, index: str, by: int, after: tuple[datetime, str], limit: int
    ) -> list[str]:
        """The keys of the due index after a place (due time, key), up to ``by``: read from
        that due time on, without the keys due then that are not after it."""
        due, key = micros(after[0]), after[1]
        reach = limit + _TIES
        while True:
            # With scores: (member, score) pairs.
            found = cast(
                list[tuple[bytes, float]],
                await self._client().zrangebyscore(
                    index, due, by, start=0, num=reach, withscores=True
                ),
            )
            keys = [text(m) for m, score in found if int(score) > due or text(m) > key]
            if len(keys) >= limit or len(found) < reach:
                return keys[:limit]
            reach *= 2

    async def trim_events(self, written_before: datetime) -> int:
        """Trims the stream below every live group's cursor and the instant (XTRIM MINID).

        Cursors only move forward, so a bound computed from them stays safe while it is
        applied; a group that never committed holds everything, one whose lease ended
        before the instant (abandoned) nothing.
        """
        client = self._client()
        cutoff = micros(written_before)
        bound = (cutoff // 1000, 0)
        with translated("trim the incident event stream"):
            groups = await client.smembers(self._keys.event_groups)
            for group in sorted(text(g) for g in groups):
                cursor, lease_until = await client.hmget(
                    self._keys.event_group(group), ["cursor", "lease_until"]
                )
                if lease_until is None or int(lease_until) < cutoff:
                    continue
                if cursor is None:
                    return 0
                ms, _, seq = text(cursor).partition("-")
                # Everything up to the cursor is consumed: keep from the next ID on.
                bound = min(bound, (int(ms), int(seq or 0) + 1))
            trimmed = await client.xtrim(
                self._keys.incident_events, minid=f"{bound[0]}-{bound[1]}", approximate=False
            )
        return int(trimmed)


def _event(row: tuple[Any, Any]) -> StreamEvent:
    """Decodes one XRANGE entry of the incident event stream."""
    entry_id, fields = row
    return decode_stream_event(
        text(entry_id),
        fields[b"event"],
        int(fields[b"version"]),
        text(fields[b"state"]),
        fields[b"incident"],
    )
