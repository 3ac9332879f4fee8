"""The incident half of the Redis store: incidents with their alerts, timelines, silences.

``redis_scripts`` has the key layout and the Lua script that commits. Reading an
incident takes its hash and its alerts hash in one MULTI/EXEC, so the two come from
the same commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.codec import (
    decode_event,
    decode_incident,
    decode_silence,
    encode_silence,
    inline_alerts,
)
from core.incident import Incident, IncidentEvent
from core.silence import Silence
from core.store import CorrelationCommit, IncidentQuery, VersionConflict
from core.store.redis_scripts import COMMIT_LUA, RedisKeys, commit_arguments
from core.store.redis_support import text, translated
from core.timestamps import micros

# How many incidents list_incidents fetches per round trip when it filters them itself.
_LIST_PAGE = 200


class RedisIncidents:
    """Incidents, their timelines, group heads and silences, on the store's connection pool."""

    def __init__(self, keys: RedisKeys, client: Callable[[], Redis]) -> None:
        """``client`` returns the open pool, or raises StoreUnavailable once it is closed."""
        self._keys = keys
        self._client = client
        self._commit_script: AsyncScript | None = None

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

    async def incident_for_group(self, group_key: str) -> Incident | None:
        """Returns the incident the group's head points to, or None."""
        client = self._client()
        with translated("read a group head"):
            incident_id = await client.get(self._keys.group(group_key))
        return None if incident_id is None else await self.get_incident(text(incident_id))

    async def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Returns the incidents the query selects, newest first by opening time, then id.

        The sorted set by opening time answers the time range; state and service are
        filtered here, page by page, on the incidents' own fields, before their alerts are
        read. That reads every incident of the range in the worst case, which is fine
        while incidents number thousands, not millions.
        """
        if query.limit <= 0 or query.states == frozenset():
            return []
        client = self._client()
        newest = "+inf" if query.opened_before is None else f"({micros(query.opened_before)}"
        oldest = "-inf" if query.opened_after is None else str(micros(query.opened_after))
        filtered = query.states is not None or query.service is not None
        page = max(query.limit, _LIST_PAGE) if filtered else query.limit
        found: dict[str, Incident] = {}
        offset = 0
        with translated("list incidents"):
            while len(found) < query.limit:
                members = await client.zrevrangebyscore(
                    self._keys.opened, newest, oldest, start=offset, num=page
                )
                offset += len(members)
                # Without withscores, redis-py gives the bare members.
                ids = [text(member) for member in members if isinstance(member, bytes | str)]
                if filtered:
                    heads = await self._read(client, ids, with_alerts=False)
                    ids = [i.id for i in heads if i is not None and _selects(query, i)]
                # Selected again: an incident may have changed since the filter read it.
                for incident in await self._read(client, ids, with_alerts=True):
                    if incident is not None and _selects(query, incident):
                        found.setdefault(incident.id, incident)
                if len(members) < page:
                    break
        return list(found.values())[: query.limit]

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
        fields, alerts = replies[0::2], replies[1::2]
        return [
            _incident(record, body, found.values())
            for (record, body), found in zip(fields, alerts, strict=True)
        ]

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
            await client.hset(self._keys.silences, silence.id, encode_silence(silence))

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


def _selects(query: IncidentQuery, incident: Incident) -> bool:
    """Tells whether the incident has a state and service the query asks for."""
    if query.states is not None and incident.state not in query.states:
        return False
    return query.service is None or incident.service == query.service
