"""The incident list on Redis: a sorted set per value of each filter, walked in Lua.

Each commit (``redis_scripts.COMMIT_LUA``) keeps every incident in one sorted set per
filtered field that has a value, ``incidents:by:{field}:{value}`` scored by opening time,
its casefolded title in its hash (``folded_title``), and the incident in one sorted set
per distinct trigram of that title's UTF-8 bytes, ``incidents:by:title:{trigram}``, moved
when the title changes. :data:`QUERY_LUA` answers a list page in one call: it counts each
filter's incidents in the time range (ZCOUNT, logarithmic), and those of each trigram set
of the text, walks the filter or trigram set with the fewest newest first (several sets
of one filter, such as the open states, merged by score), and keeps those that the other
filters' sets hold (ZSCORE) and whose title holds the text. Without a filter it walks
``incidents:opened``. A rare text thus walks a few incidents; a common one walks its
smallest trigram set, whose titles mostly hold it; a text under three bytes has no
trigram and walks all incidents, as without a filter.

A walk costs what it examines, and the script examines at most :data:`_CALL_BUDGET`
incidents per call, so that Redis is never held for long. A page stops after
:data:`PAGE_BUDGET` incidents examined: when the filters select few of the incidents the
walk goes through (a short title search alone, or two broad filters that rarely meet), the
page may hold fewer than its limit, and its ``next`` position continues the walk. With
100,000 incidents, a two-letter text that none holds costs twenty pages of that bound
to list to the end (bench/README.md).

Incidents an earlier Tocsin stored are put in the sets once, by the first list that
needs them (:func:`ensure_indexed`), as the sweep index is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.codec import decode_incident, stored_state_names
from core.incident import Incident
from core.store import IncidentQuery, ListPosition
from core.store.redis_scripts import TRIGRAMS_LUA, RedisKeys, index_keys
from core.store.redis_support import text
from core.timestamps import from_micros, micros

# How many incidents one script call examines at most, and one page in all.
_CALL_BUDGET = 2_500
PAGE_BUDGET = 5_000
# How many incidents the backfill reads per round trip.
_BACKFILL_PAGE = 500
# How many of a text's title trigram sets the query compares at most: any of them holds
# every title that holds the text, so those past the first few only narrow the choice.
_MAX_TRIGRAMS = 64

# KEYS: the opening-time index, then each filter's sets, filter after filter, then the
#       title trigram sets of the text.
# ARGV: the number of filters, the number of sets of each; then the ZREVRANGEBYSCORE
#       bounds (newest, oldest), the cursor's score and id ("" for none: the page starts
#       after it), how many to find, how many to examine at most, the casefolded title
#       text ("" for any), the prefix of incident hash keys.
# Returns: "full" (found them all), "budget" (examined as many as allowed) or "end"; the
# score and id of the last incident examined ("" if none); then id, score per one found.
QUERY_LUA = """
local n = tonumber(ARGV[1])
local filters, k = {}, 2
for f = 1, n do
    local keys = {}
    for j = 1, tonumber(ARGV[1 + f]) do
        keys[j] = KEYS[k]
        k = k + 1
    end
    filters[f] = keys
end
local a = n + 2
local newest, oldest = ARGV[a], ARGV[a + 1]
local cursor_score, cursor_id = tonumber(ARGV[a + 2]), ARGV[a + 3]
local want, budget = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
local title, prefix = ARGV[a + 6], ARGV[a + 7]

-- The walk goes through the filter with the fewest incidents in the range, or the title
-- trigram set with the fewest: every title holding the text is in each of its sets.
local drive, fewest = 0, nil
for f = 1, n do
    local total = 0
    for _, key in ipairs(filters[f]) do
        total = total + redis.call('ZCOUNT', key, oldest, newest)
    end
    if fewest == nil or total < fewest then
        drive, fewest = f, total
    end
end
local walked = {KEYS[1]}
if drive > 0 then walked = filters[drive] end
for t = k, #KEYS do
    local total = redis.call('ZCOUNT', KEYS[t], oldest, newest)
    if fewest == nil or total < fewest then
        drive, fewest, walked = 0, total, {KEYS[t]}
    end
end

local PAGE = 256
local heads = {}
for i, key in ipairs(walked) do
    heads[i] = {key = key, items = {}, at = 1, done = false, last = nil, ties = 0}
end
-- The head's next (member, score), reading its next slice when it ran out; nil at its end.
-- A slice starts at the instant of the last one taken, past those of that instant taken
-- already: an offset costs what it skips, so it is never more than those ties.
local function peek(h)
    if h.at > #h.items then
        if h.done then return nil end
        local top, skip = newest, 0
        if h.last then top, skip = h.last, h.ties end
        h.items = redis.call('ZREVRANGEBYSCORE', h.key, top, oldest, 'WITHSCORES',
            'LIMIT', skip, PAGE)
        h.at = 1
        h.done = #h.items < 2 * PAGE
        if #h.items == 0 then return nil end
    end
    return h.items[h.at], tonumber(h.items[h.at + 1])
end
-- Takes the head's next, counting those taken at its instant.
local function take(h)
    local raw = h.items[h.at + 1]
    if raw == h.last then
        h.ties = h.ties + 1
    else
        h.last, h.ties = raw, 1
    end
    h.at = h.at + 2
end

local function passes(id)
    for f = 1, n do
        if f ~= drive then
            local inside = false
            for _, key in ipairs(filters[f]) do
                if redis.call('ZSCORE', key, id) then
                    inside = true
                    break
                end
            end
            if not inside then return false end
        end
    end
    if title ~= '' then
        local held = redis.call('HGET', prefix .. id, 'folded_title')
        if not held or not string.find(held, title, 1, true) then return false end
    end
    return true
end

local result = {'end', '', ''}
local examined = 0
while true do
    if #result - 3 >= 2 * want then
        result[1] = 'full'
        break
    end
    if examined >= budget then
        result[1] = 'budget'
        break
    end
    -- The newest of the heads: by score, then id, both descending.
    local best, best_id, best_score = nil, nil, nil
    for _, h in ipairs(heads) do
        local id, score = peek(h)
        if id and (best == nil or score > best_score or (score == best_score and id > best_id)) then
            best, best_id, best_score = h, id, score
        end
    end
    if best == nil then break end
    take(best)
    -- Those at the cursor's instant that are not after it in the order were listed.
    if not (cursor_score and best_score == cursor_score and best_id >= cursor_id) then
        examined = examined + 1
        result[2], result[3] = best.last, best_id
        if passes(best_id) then
            result[#result + 1] = best_id
            result[#result + 1] = best.last
        end
    end
end
return result
"""

# Puts incidents an earlier Tocsin stored into the list indexes and the title trigram
# sets, unless a commit wrote one since it was read (that commit indexed it) or it is in
# them already (an earlier Tocsin may have put it in the list indexes only).
# KEYS: one incident hash per incident. ARGV: per incident (id, version as read, opened
# micros, casefolded title, its sets as one newline-separated list); last, the prefix of
# the title trigram sets.
INDEX_OLDER_LUA = TRIGRAMS_LUA + """
local title_prefix = ARGV[#ARGV]
for i = 1, #KEYS do
    local a = 5 * (i - 1) + 1
    local version, indexed, folded = unpack(
        redis.call('HMGET', KEYS[i], 'version', 'indexed', 'folded_title'))
    if version == ARGV[a + 1] and not indexed then
        local start = 1
        local s = ARGV[a + 4]
        while start <= #s do
            local stop = string.find(s, '\\n', start, true) or #s + 1
            redis.call('ZADD', string.sub(s, start, stop - 1), ARGV[a + 2], ARGV[a])
            start = stop + 1
        end
        redis.call('HSET', KEYS[i], 'indexed', s)
    end
    if version == ARGV[a + 1] and not folded then
        retitle(title_prefix, ARGV[a], ARGV[a + 2], false, ARGV[a + 3])
        redis.call('HSET', KEYS[i], 'folded_title', ARGV[a + 3])
        redis.call('HDEL', KEYS[i], 'search')
    end
end
return 'OK'
"""


@dataclass(frozen=True, slots=True)
class Walk:
    """What a walk of the list indexes found: ids in order with their opening positions.

    ``stopped`` is where the walk stopped short of the end when its budget ran out (the
    next page starts after it), or None.
    """

    found: list[ListPosition]
    stopped: ListPosition | None


class IncidentIndex:
    """Walks the list indexes of one store, on its connection pool."""

    def __init__(self, keys: RedisKeys) -> None:
        self._keys = keys
        self._query: AsyncScript | None = None
        # Whether the indexes are known to hold every incident an earlier Tocsin stored.
        self._ready = False

    async def walk(self, client: Redis, query: IncidentQuery, want: int, *, bounded: bool) -> Walk:
        """Returns up to ``want`` incidents the query selects, newest first.

        ``bounded``: stop after :data:`PAGE_BUDGET` incidents examined (a page of the
        API); otherwise walk until ``want`` are found or the indexes end.
        """
        if query.sweep_due_by is not None:
            raise ValueError("the list indexes do not answer a sweep query")
        await self.ensure_indexed(client)
        if self._query is None:
            self._query = client.register_script(QUERY_LUA)
        keys, filters = self._filter_keys(query)
        keys += self._trigram_keys(_title(query))
        newest = "+inf" if query.opened_before is None else f"({micros(query.opened_before)}"
        oldest = "-inf" if query.opened_after is None else str(micros(query.opened_after))
        prefix = self._keys.incident("")
        found: list[ListPosition] = []
        after = query.after
        examined = 0
        while len(found) < want:
            cursor: list[str | int] = ["", ""]
            top = newest
            if after is not None:
                # The cursor's instant, inclusive: the script skips what is not after it.
                cursor = [micros(after.opened_at), after.incident_id]
                if query.opened_before is None or micros(after.opened_at) < micros(
                    query.opened_before
                ):
                    top = str(micros(after.opened_at))
            args: list[str | int] = [len(filters), *filters, top, oldest, *cursor]
            args += [want - len(found), _CALL_BUDGET, _title(query), prefix]
            reply: list[Any] = await self._query(keys=keys, args=args, client=client)
            status, score, last = text(reply[0]), text(reply[1]), text(reply[2])
            pairs = reply[3:]
            found += [
                ListPosition(from_micros(int(float(text(s)))), text(i))
                for i, s in zip(pairs[0::2], pairs[1::2], strict=True)
            ]
            if status != "budget":
                break
            after = ListPosition(from_micros(int(float(score))), last)
            examined += _CALL_BUDGET
            if bounded and examined >= PAGE_BUDGET:
                return Walk(found, after)
        return Walk(found, None)

    def _trigram_keys(self, title: str) -> list[str | bytes]:
        """The title trigram sets of the casefolded text (none under three bytes)."""
        raw = title.encode()
        trigrams = sorted({raw[i : i + 3] for i in range(len(raw) - 2)})
        return [self._keys.title_trigram(t) for t in trigrams[:_MAX_TRIGRAMS]]

    def _filter_keys(self, query: IncidentQuery) -> tuple[list[str | bytes], list[int]]:
        """The script's KEYS and each filter's number of sets."""
        values: list[tuple[str, Sequence[str]]] = []
        if query.states is not None:
            values.append(("state", stored_state_names(query.states)))
        if query.priorities is not None:
            values.append(("priority", sorted(query.priorities)))
        for name, value in (
            ("service", query.service),
            ("team", query.team),
            ("category", query.category),
            ("assignee", query.assignee),
        ):
            if value is not None:
                values.append((name, [value]))
        keys: list[str | bytes] = [self._keys.opened]
        for name, chosen in values:
            keys += [self._keys.index(name, value) for value in chosen]
        return keys, [len(chosen) for _, chosen in values]

    async def ensure_indexed(self, client: Redis) -> None:
        """Puts every incident an earlier Tocsin stored into the list indexes, once.

        As the sweep index's (``RedisIncidents._index_older_incidents``): on the first
        list, not when the store opens, which does not wait for Redis; a commit meanwhile
        indexes what it writes, and the script leaves it.
        """
        if self._ready:
            return
        if not await client.exists(self._keys.index_ready):
            script = client.register_script(INDEX_OLDER_LUA)
            cursor = 0
            while True:
                cursor, pairs = await client.zscan(
                    self._keys.opened, cursor, count=_BACKFILL_PAGE
                )
                ids = [text(member) for member, _ in pairs if isinstance(member, bytes | str)]
                await self._index_older(client, script, ids)
                if cursor == 0:
                    break
            await client.set(self._keys.index_ready, 1)
        self._ready = True

    async def _index_older(self, client: Redis, script: AsyncScript, ids: Sequence[str]) -> None:
        """Indexes those of the incidents that no commit indexed."""
        if not ids:
            return
        async with client.pipeline(transaction=False) as pipe:
            for incident_id in ids:
                pipe.hmget(self._keys.incident(incident_id), "indexed", "folded_title")
            indexed: list[Any] = await pipe.execute()
        # Only those no commit indexed are read whole: after an upgrade, all; else none.
        unindexed = [i for i, known in zip(ids, indexed, strict=True) if None in known]
        if not unindexed:
            return
        async with client.pipeline(transaction=False) as pipe:
            for incident_id in unindexed:
                pipe.hmget(self._keys.incident(incident_id), "version", "record", "body")
            replies: list[Any] = await pipe.execute()
        keys: list[str] = []
        args: list[str | bytes | int] = []
        for version, record, body in replies:
            if version is None or (record is None and body is None):
                continue
            incident = _decode(record, body)
            keys.append(self._keys.incident(incident.id))
            args += [incident.id, text(version), micros(incident.opened_at)]
            args += [incident.title.casefold(), "\n".join(index_keys(self._keys, incident))]
        if keys:
            args.append(self._keys.title_trigram(b""))
            await script(keys=keys, args=args, client=client)


def _title(query: IncidentQuery) -> str:
    return "" if query.title_contains is None else query.title_contains.casefold()


def _decode(record: bytes | None, body: bytes) -> Incident:
    """The incident's own fields, from its record or the whole body of the old layout."""
    return decode_incident(record if record is not None else body)
