"""Incident lists and detail pages on Redis that cost what the page shows.

After each commit the store writes every incident's alert counts, with the version they
are of, into the incident's hash (field ``counts``, ``version:alerts:firing``): a list
reads the incidents' own fields and these, and no alert. The write follows the commit
script, so it may be missing or of an older version (a crash in between, two writers
racing): counts of another version than the incident's are worked out from its alerts
when read, once, and written back.

A page of an incident's alerts reads the fingerprints only (HKEYS), picks the page's in
a worker thread, and fetches those alerts (HMGET): an incident's alert documents are
never all read at once. Key layout: ``redis_scripts``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from core.codec import decode_event, decode_incident, decode_incident_documents
from core.incident import OPEN_STATES, Incident, IncidentEvent, IncidentState
from core.store import (
    AlertPage,
    CorrelationCommit,
    IncidentPage,
    IncidentQuery,
    IncidentSummary,
    ListPosition,
)
from core.store.alert_pages import PageCollector, count_statuses
from core.store.redis_incident_index import IncidentIndex
from core.store.redis_incidents import query_candidates
from core.store.redis_scripts import RedisKeys
from core.store.redis_support import text, translated

_COUNTS = "counts"
# How many incidents a list reads per round trip when it filters them itself.
_LIST_PAGE = 200


class RedisIncidentPages:
    """Summaries, alert pages and timeline pages, on the store's connection pool."""

    def __init__(self, keys: RedisKeys, client: Callable[[], Redis]) -> None:
        """``client`` returns the open pool, or raises StoreUnavailable once it is closed."""
        self._keys = keys
        self._client = client
        self._index = IncidentIndex(keys)

    async def committed(self, commit: CorrelationCommit) -> None:
        """Writes the counts of the incidents a commit that landed wrote."""
        if not commit.incidents:
            return
        client = self._client()
        with translated("write incident counts"):
            async with client.pipeline(transaction=False) as pipe:
                for incident in commit.incidents:
                    field = _counts_field(commit, incident)
                    pipe.hset(self._keys.incident(incident.id), _COUNTS, field)
                await pipe.execute()

    async def summaries(self, query: IncidentQuery) -> list[IncidentSummary]:
        """Returns list_incidents' incidents as summaries, in its order."""
        if query.limit <= 0 or query.states == frozenset():
            return []
        client = self._client()
        if query.sweep_due_by is None:
            with translated("list incidents"):
                walk = await self._index.walk(client, query, query.limit, bounded=False)
                return await self._selected(client, query, walk.found)
        found: dict[str, IncidentSummary] = {}
        offset = 0
        with translated("list incidents"):
            while len(found) < query.limit:
                ids = await query_candidates(client, self._keys, query, offset, _LIST_PAGE)
                offset += len(ids)
                for summary in await self._read(client, ids):
                    if summary is not None and query.selects(summary.incident):
                        found.setdefault(summary.incident.id, summary)
                if len(ids) < _LIST_PAGE:
                    break
        return list(found.values())[: query.limit]

    async def count_open(
        self, priorities: Sequence[str]
    ) -> dict[tuple[IncidentState, str | None], int]:
        """Counts the open incidents by state and priority: the list indexes' sizes.

        One pipeline: each open state's set size (ZCARD), and its intersection with each
        priority's set (ZINTERCARD, counted in Redis without building it); what no
        priority claims counts under None.
        """
        client = self._client()
        states = sorted(OPEN_STATES)
        priorities = list(dict.fromkeys(priorities))  # each once: each is subtracted once
        with translated("count open incidents"):
            await self._index.ensure_indexed(client)
            async with client.pipeline(transaction=True) as pipe:
                for state in states:
                    by_state = self._keys.index("state", state.value)
                    pipe.zcard(by_state)
                    for priority in priorities:
                        pipe.zintercard(2, [by_state, self._keys.index("priority", priority)])
                replies = iter(await pipe.execute())
        counts: dict[tuple[IncidentState, str | None], int] = {}
        for state in states:
            unclaimed = int(next(replies))
            for priority in priorities:
                count = int(next(replies))
                unclaimed -= count
                if count:
                    counts[(state, priority)] = count
            if unclaimed:
                counts[(state, None)] = unclaimed
        return counts

    async def page(self, query: IncidentQuery) -> IncidentPage:
        """Returns a page of summaries through the list indexes, and where the next starts.

        The walk is bounded (``redis_incident_index``): a page may hold fewer than the
        limit and still have a next one.
        """
        if query.sweep_due_by is not None:
            raise ValueError("a page of incidents is not a sweep query")
        if query.limit <= 0 or query.states == frozenset():
            return IncidentPage([], None)
        client = self._client()
        with translated("list incidents"):
            walk = await self._index.walk(client, query, query.limit + 1, bounded=True)
            chosen = walk.found[: query.limit]
            summaries = await self._selected(client, query, chosen)
        if len(walk.found) > query.limit:
            return IncidentPage(summaries, chosen[-1])
        return IncidentPage(summaries, walk.stopped)

    async def _selected(
        self, client: Redis, query: IncidentQuery, found: Sequence[ListPosition]
    ) -> list[IncidentSummary]:
        """Reads the summaries of what a walk found that still pass the query."""
        read = await self._read(client, [position.incident_id for position in found])
        # Selected again: an incident may have changed since the walk.
        return [s for s in read if s is not None and query.selects(s.incident)]

    async def summary(self, incident_id: str) -> IncidentSummary | None:
        """Returns one incident as a summary, or None."""
        client = self._client()
        with translated("read an incident"):
            [summary] = await self._read(client, [incident_id])
        return summary

    async def alert_page(
        self, incident_id: str, after: str, limit: int, named: Collection[str]
    ) -> AlertPage:
        """Returns a page of the incident's alerts: its fingerprints, then the page's alerts."""
        client = self._client()
        alerts_key = self._keys.incident_alerts(incident_id)
        with translated("read a page of an incident's alerts"):
            body = await client.hget(self._keys.incident(incident_id), "body")
            fingerprints = await client.hkeys(alerts_key)
        inline: dict[str, dict[str, Any]] = {}
        if body is not None:
            # An incident of the layout before alerts were kept apart: some are inline.
            _, inline = await asyncio.to_thread(decode_incident_documents, body)
        chosen = await asyncio.to_thread(_first_after, fingerprints, inline, after, limit + 1)
        wanted = sorted({*chosen, *named})
        documents: list[Any] = []
        if wanted:
            with translated("read a page of an incident's alerts"):
                documents = await client.hmget(alerts_key, wanted)
        collector = PageCollector(after, limit, named)
        collector.add(inline.values())
        collector.add(orjson.loads(d) for d in documents if d is not None)
        return collector.page()

    async def events_page(
        self, incident_id: str, start: int, limit: int
    ) -> tuple[list[IncidentEvent], int]:
        """Returns ``limit`` timeline events from ``start``, and how many there are."""
        client = self._client()
        key = self._keys.events(incident_id)
        with translated("read an incident timeline"):
            async with client.pipeline(transaction=True) as pipe:
                pipe.llen(key)
                pipe.lrange(key, start, start + limit - 1)
                total, bodies = await pipe.execute()
        return [decode_event(b) for b in bodies], int(total)

    async def _read(self, client: Redis, ids: Sequence[str]) -> list[IncidentSummary | None]:
        """Reads the incidents' own fields and counts; works out the counts it lacks."""
        if not ids:
            return []
        async with client.pipeline(transaction=False) as pipe:
            for incident_id in ids:
                pipe.hmget(self._keys.incident(incident_id), "record", "body", _COUNTS)
            replies: list[Any] = await pipe.execute()
        summaries: list[IncidentSummary | None] = []
        for record, body, counts in replies:
            if record is None and body is None:
                summaries.append(None)
                continue
            head = decode_incident(record if record is not None else body)
            kept = _parse_counts(counts, head.version)
            if kept is None:
                kept = await self._count(client, head, body)
            summaries.append(IncidentSummary(head, *kept))
        return summaries

    async def _count(self, client: Redis, head: Incident, body: bytes | None) -> tuple[int, int]:
        """Counts an incident's alerts from its documents, and keeps the counts."""
        documents = await client.hvals(self._keys.incident_alerts(head.id))
        counted = await asyncio.to_thread(_count_documents, body, documents)
        field = f"{head.version}:{counted[0]}:{counted[1]}"
        await client.hset(self._keys.incident(head.id), _COUNTS, field)
        return counted


def _counts_field(commit: CorrelationCommit, incident: Incident) -> str:
    alerts, firing = commit.counts_of(incident)
    return f"{incident.version}:{alerts}:{firing}"


def _parse_counts(counts: bytes | None, version: int) -> tuple[int, int] | None:
    """The counts kept for the incident, if they are of its version."""
    if counts is None:
        return None
    kept_version, alerts, firing = text(counts).split(":")
    return (int(alerts), int(firing)) if int(kept_version) == version else None


def _count_documents(body: bytes | None, documents: Iterable[bytes | str]) -> tuple[int, int]:
    statuses: dict[str, str] = {}
    if body is not None:
        _, inline = decode_incident_documents(body)
        statuses.update((f, d["status"]) for f, d in inline.items())
    for raw in documents:
        document = orjson.loads(raw)
        statuses[document["fingerprint"]] = document["status"]
    return count_statuses(statuses)


def _first_after(
    fingerprints: Iterable[bytes | str], inline: Collection[str], after: str, count: int
) -> list[str]:
    """The ``count`` smallest fingerprints after ``after``, of the hash's and the inline.

    Compared as UTF-8 bytes, whose order is the strings' order: no string is made of the
    hundreds of thousands of a storm incident's fingerprints, only of the page's.
    """
    every = (f if isinstance(f, bytes) else f.encode() for f in fingerprints)
    above = after.encode()
    every_and_inline = itertools.chain(every, (f.encode() for f in inline))
    chosen = heapq.nsmallest(count, (f for f in every_and_inline if f > above))
    return [f.decode() for f in chosen]

