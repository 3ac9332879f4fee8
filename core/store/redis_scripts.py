"""The Redis key layout for incidents and silences, and the Lua scripts that write them.

Keys, after the store's prefix::

    alerts                 stream: the alert log; consumer groups are the LogConsumer groups
    incident:{id}          hash: ``version`` and ``record`` (the incident without its alerts)
    incident:{id}:alerts   hash: fingerprint -> one alert of the incident
    incident:{id}:events   list: the timeline, oldest first
    group:{group_key}      string: the id of the group's head incident
    incidents:opened       sorted set: incident ids scored by opened_at in microseconds
    incidents:sweep        sorted set: incident ids scored by sweep_at in microseconds, if set
    incidents:sweep:ready  string: set once incidents:sweep holds every older incident too
    incidents:by:{field}:{value}  sorted set: the list index of one value of a filtered
                           field (state, priority, service, team, category, assignee):
                           incident ids scored by opened_at in microseconds; the incident
                           hash's ``indexed`` names the sets it is in, ``folded_title``
                           holds its casefolded title (redis_incident_index)
    incidents:by:title:{trigram}  sorted set: the ids of the incidents whose casefolded
                           title (UTF-8) holds those three bytes, scored by opened_at
    incidents:by:ready:2   string: set once the list indexes and the title trigram sets
                           hold every older incident too
    silences               hash: silence id -> body
    incident-events        stream: the incident event stream (core.store.events), fields
                           ``version``, ``state``, ``incident`` (the rest of the
                           snapshot, core.store.events) and ``event``
    incident-events:group:{group}  hash: a consumer group's ``cursor``, ``holder``, ``lease_until``
    incident-events:groups set: the names of the consumer groups
    consumer:{collection}  hash: key -> a consumer's document (ConsumerWrite)
    consumer:{collection}:due  sorted set: document keys by due time in microseconds

(JSON as core.codec writes it.) An incident written before alerts were kept apart has a
``body`` field instead of ``record``: the whole incident, its alerts inline. A commit
leaves that field alone; readers take the alerts it holds, and any newer one in the
alerts hash over them, and the incident's own fields from ``record`` once there is one.

An incident written before ``incidents:sweep`` existed is not in it, though it reads back
(core.codec) as due at its opening when it is open. Two things put it there: the commit
of any change to it, which keeps the set for the incidents it writes; and, for those no
commit touches, :data:`INDEX_OLDER_LUA`, which the first query by sweep time of each
store runs over every incident, unless ``incidents:sweep:ready`` says that a store already
did it all. Replicas of an earlier Tocsin that still commit after that do not keep the set:
upgrade them all together, or delete ``incidents:sweep:ready`` once they are upgraded.

A correlation commit is one EVALSHA of :data:`COMMIT_LUA`: Redis runs a script without
interleaving other commands, so the version and head checks and all the writes, XACK
included, are atomic without WATCH. The script checks everything before its first write,
because Redis does not roll back a script that fails halfway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from core.codec import encode_alert, encode_event, encode_incident
from core.incident import Incident
from core.store import CorrelationCommit
from core.store.events import encode_snapshot
from core.timestamps import micros

# KEYS: stream, opened index, sweep index, then one incident hash per incident, one alerts
#       hash per incident, one head key per head, one events list per incident that gets
#       events, and last the incident event stream.
# ARGV: group, number of incidents, heads and event lists; then per incident (id,
#       version, opened micros, record, sweep micros or "" for none, the fingerprints of
#       the alerts written and their bodies, each as one newline-separated list, the
#       keys of its list indexes as one newline-separated list, its casefolded title); per
#       head (has expected, expected, new id); per event list (count, the incident's
#       version, state and snapshot, bodies...); then the consumed positions, as one
#       newline-separated list; then the number of the event list of each event in the
#       commit's order, as one newline-separated list: the stream's order; then the
#       number of consumer documents and per document (key, body or "" to delete, due
#       micros or ""), whose KEYS (collection hash, due index) come before the stream's;
#       then the number of timeline notes and per note its body, whose KEYS (incident
#       hash, timeline list) come after the documents' and before the stream's.
# The title trigram sets (redis_incident_index): Lua functions that the commit and the
# backfill share. Trigrams are of the UTF-8 bytes: a text is a substring of a title only
# if each of its byte trigrams is one of the title's, as with characters, and Lua's
# strings are bytes.
TRIGRAMS_LUA = """
local function trigrams(s)
    local found = {}
    if s then
        for i = 1, #s - 2 do found[string.sub(s, i, i + 2)] = true end
    end
    return found
end
-- Moves the incident from the trigram sets of the title old (false: none) to those of new.
local function retitle(prefix, id, score, old, new)
    local before, after = trigrams(old), trigrams(new)
    for t in pairs(before) do
        if not after[t] then redis.call('ZREM', prefix .. t, id) end
    end
    for t in pairs(after) do
        if not before[t] then redis.call('ZADD', prefix .. t, score, id) end
    end
end
"""

# A storm step writes thousands of alerts and consumes thousands of positions: as one
# argument per list instead of one per item, the client packs a few arguments instead
# of thousands. JSON as orjson writes it holds no newline, nor do ids and fingerprints.
COMMIT_LUA = TRIGRAMS_LUA + """
-- A plain find (memchr), not a pattern: gmatch tested every character of megabytes of
-- alert documents against a character class, most of the script's time.
local function lines(s)
    local items, start = {}, 1
    while start <= #s do
        local stop = string.find(s, '\\n', start, true) or #s + 1
        items[#items + 1] = string.sub(s, start, stop - 1)
        start = stop + 1
    end
    return items
end

local group = ARGV[1]
local n_incidents = tonumber(ARGV[2])
local n_heads = tonumber(ARGV[3])
local n_lists = tonumber(ARGV[4])
local incident_arg, incident_key = 5, 4
local alerts_key = incident_key + n_incidents
local head_arg, head_key = incident_arg + 9 * n_incidents, alerts_key + n_incidents
local list_arg, list_key = head_arg + 3 * n_heads, head_key + n_heads
-- The store's prefix is the opening index's name without "incidents:opened".
local title_prefix = string.sub(KEYS[2], 1, #KEYS[2] - 16) .. 'incidents:by:title:'

for i = 0, n_incidents - 1 do
    local a = incident_arg + 9 * i
    local stored = tonumber(redis.call('HGET', KEYS[incident_key + i], 'version') or '0')
    if stored ~= tonumber(ARGV[a + 1]) - 1 then
        return 'incident ' .. ARGV[a] .. ' is at version ' .. stored
    end
end
for i = 0, n_heads - 1 do
    local a = head_arg + 3 * i
    local current = redis.call('GET', KEYS[head_key + i])
    local expected = false
    if ARGV[a] == '1' then expected = ARGV[a + 1] end
    if current ~= expected then
        return 'group head ' .. KEYS[head_key + i] .. ' moved to ' .. tostring(current)
    end
end

-- The positions were checked by the caller; acknowledge them first all the same, so that a
-- malformed one stops the script before anything else is written.
local consumed_arg = list_arg
for i = 0, n_lists - 1 do
    consumed_arg = consumed_arg + tonumber(ARGV[consumed_arg]) + 4
end
-- In slices: unpack() of thousands of items would overflow Lua's stack.
local consumed = lines(ARGV[consumed_arg])
for first = 1, #consumed, 500 do
    redis.call('XACK', KEYS[1], group, unpack(consumed, first, math.min(first + 499, #consumed)))
end

for i = 0, n_incidents - 1 do
    local a = incident_arg + 9 * i
    redis.call('HSET', KEYS[incident_key + i], 'version', ARGV[a + 1], 'record', ARGV[a + 3])
    -- Its title's trigram sets: moved only when the title changed, from the title the
    -- hash holds (none for an incident an earlier Tocsin wrote: its ``search`` goes).
    local folded = redis.call('HGET', KEYS[incident_key + i], 'folded_title')
    if folded ~= ARGV[a + 8] then
        retitle(title_prefix, ARGV[a], ARGV[a + 2], folded, ARGV[a + 8])
        redis.call('HSET', KEYS[incident_key + i], 'folded_title', ARGV[a + 8])
        redis.call('HDEL', KEYS[incident_key + i], 'search')
    end
    -- The incident's entries in the list indexes (redis_incident_index): moved only when
    -- a filtered field changed, from the keys the hash says it is in to those of ARGV.
    local held = redis.call('HGET', KEYS[incident_key + i], 'indexed')
    if held ~= ARGV[a + 7] then
        local keep = {}
        for _, key in ipairs(lines(ARGV[a + 7])) do keep[key] = true end
        for _, key in ipairs(held and lines(held) or {}) do
            if not keep[key] then redis.call('ZREM', key, ARGV[a]) end
        end
        for key in pairs(keep) do redis.call('ZADD', key, ARGV[a + 2], ARGV[a]) end
        redis.call('HSET', KEYS[incident_key + i], 'indexed', ARGV[a + 7])
    end
    redis.call('ZADD', KEYS[2], ARGV[a + 2], ARGV[a])
    if ARGV[a + 4] == '' then
        redis.call('ZREM', KEYS[3], ARGV[a])
    else
        redis.call('ZADD', KEYS[3], ARGV[a + 4], ARGV[a])
    end
    local fingerprints, bodies = lines(ARGV[a + 5]), lines(ARGV[a + 6])
    for first = 1, #fingerprints, 500 do
        local fields = {}
        for j = first, math.min(first + 499, #fingerprints) do
            fields[#fields + 1] = fingerprints[j]
            fields[#fields + 1] = bodies[j]
        end
        redis.call('HSET', KEYS[alerts_key + i], unpack(fields))
    end
end
for i = 0, n_heads - 1 do
    redis.call('SET', KEYS[head_key + i], ARGV[head_arg + 3 * i + 2])
end
local a = list_arg
local list_args = {}
for i = 0, n_lists - 1 do
    local count = tonumber(ARGV[a])
    for j = 1, count do
        redis.call('RPUSH', KEYS[list_key + i], ARGV[a + 3 + j])
    end
    list_args[i + 1] = a
    a = a + count + 4
end
-- The incident event stream, in the commit's order of events across incidents.
local taken = {}
for _, number in ipairs(lines(ARGV[consumed_arg + 1])) do
    local i = tonumber(number)
    local h = list_args[i]
    taken[i] = (taken[i] or 0) + 1
    redis.call('XADD', KEYS[#KEYS], '*', 'version', ARGV[h + 1], 'state', ARGV[h + 2],
        'incident', ARGV[h + 3], 'event', ARGV[h + 3 + taken[i]])
end
-- Consumer documents written with the change (CorrelationCommit.documents).
local doc_arg, doc_key = consumed_arg + 2, list_key + n_lists
for i = 0, tonumber(ARGV[doc_arg] or '0') - 1 do
    local documents, due_index = KEYS[doc_key + 2 * i], KEYS[doc_key + 2 * i + 1]
    local d = doc_arg + 1 + 3 * i
    local key, document, due = ARGV[d], ARGV[d + 1], ARGV[d + 2]
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
-- Timeline notes (CorrelationCommit.notes): on the timelines of incidents that exist
-- (those just written included), with no version and no stream entry.
local n_docs = tonumber(ARGV[doc_arg] or '0')
local note_arg, note_key = doc_arg + 1 + 3 * n_docs, doc_key + 2 * n_docs
local exists = {}
for i = 0, tonumber(ARGV[note_arg] or '0') - 1 do
    local incident = KEYS[note_key + 2 * i]
    if exists[incident] == nil then exists[incident] = redis.call('EXISTS', incident) == 1 end
    if exists[incident] then
        redis.call('RPUSH', KEYS[note_key + 2 * i + 1], ARGV[note_arg + 1 + i])
    end
end
return 'OK'
"""

# Puts incidents into the sweep index at the sweep time they read back with (for those an
# earlier Tocsin stored, their opening when open), unless a commit wrote one since it was
# read: that commit kept the index, and its word stands.
# KEYS: sweep index, then one incident hash per incident.
# ARGV: per incident (id, version as read, sweep micros).
INDEX_OLDER_LUA = """
for i = 2, #KEYS do
    local a = 3 * (i - 2) + 1
    if redis.call('HGET', KEYS[i], 'version') == ARGV[a + 1] then
        redis.call('ZADD', KEYS[1], ARGV[a + 2], ARGV[a])
    end
end
return 'OK'
"""

# What XACK accepts: ``ms-seq`` or a bare ``ms``.
_STREAM_ID = re.compile(r"\d+(-\d+)?")


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Names every key of one store, all under one prefix."""

    prefix: str

    @property
    def alerts(self) -> str:
        """The alert log stream."""
        return f"{self.prefix}alerts"

    @property
    def cursors(self) -> str:
        """The hash of consumer cursors."""
        return f"{self.prefix}cursors"

    @property
    def opened(self) -> str:
        """The sorted set of incident ids by opening time."""
        return f"{self.prefix}incidents:opened"

    @property
    def sweep(self) -> str:
        """The sorted set of ids of incidents with a sweep_at, by that time."""
        return f"{self.prefix}incidents:sweep"

    @property
    def sweep_ready(self) -> str:
        """The marker that the sweep index holds every incident an earlier Tocsin stored."""
        return f"{self.prefix}incidents:sweep:ready"

    @property
    def silences(self) -> str:
        """The hash of silences by id."""
        return f"{self.prefix}silences"

    @property
    def silences_revision(self) -> str:
        """A random token set again with every change of the silences."""
        return f"{self.prefix}silences:revision"

    def index(self, field: str, value: str) -> str:
        """The list index of incidents whose ``field`` is ``value``, by opening time."""
        # Escaped so that no value holds a newline, the separator of the commit's lists.
        escaped = value.replace("%", "%25").replace("\n", "%0A")
        return f"{self.prefix}incidents:by:{field}:{escaped}"

    def title_trigram(self, trigram: bytes) -> bytes:
        """The set of incidents whose casefolded title holds the three UTF-8 bytes."""
        return f"{self.prefix}incidents:by:title:".encode() + trigram

    @property
    def index_ready(self) -> str:
        """The marker that the list indexes hold every incident an earlier Tocsin stored."""
        # ":2": since the title trigram sets, which a store indexed before lacks.
        return f"{self.prefix}incidents:by:ready:2"

    def member(self, group: str, member: str) -> str:
        """The presence key of one member of a consumer group (expires unless refreshed)."""
        return f"{self.prefix}member:{group}:{member}"

    def lease(self, name: str) -> str:
        """The string holding who owns a lease, expiring with it."""
        return f"{self.prefix}lease:{name}"

    def incident(self, incident_id: str) -> str:
        """The hash holding one incident's version and its fields without its alerts."""
        return f"{self.prefix}incident:{incident_id}"

    def incident_alerts(self, incident_id: str) -> str:
        """The hash holding one incident's alerts by fingerprint."""
        return f"{self.prefix}incident:{incident_id}:alerts"

    def events(self, incident_id: str) -> str:
        """The list holding one incident's timeline."""
        return f"{self.prefix}incident:{incident_id}:events"

    def group(self, group_key: str) -> str:
        """The string holding one group's head incident id."""
        return f"{self.prefix}group:{group_key}"

    @property
    def incident_events(self) -> str:
        """The incident event stream."""
        return f"{self.prefix}incident-events"

    @property
    def event_groups(self) -> str:
        """The set of the incident event stream's consumer group names."""
        return f"{self.prefix}incident-events:groups"

    def event_group(self, group: str) -> str:
        """The hash of one consumer group of the incident event stream."""
        return f"{self.prefix}incident-events:group:{group}"

    def consumer_documents(self, collection: str) -> str:
        """The hash of one collection of consumers' documents."""
        return f"{self.prefix}consumer:{collection}"

    def consumer_due(self, collection: str) -> str:
        """The sorted set of one collection's document keys by due time."""
        return f"{self.prefix}consumer:{collection}:due"


def index_keys(keys: RedisKeys, incident: Incident) -> list[str]:
    """The list indexes the incident belongs in: one per filtered field that has a value."""
    fields = (
        ("state", incident.state.value),
        ("priority", incident.priority),
        ("service", incident.service),
        ("team", incident.team),
        ("category", incident.category),
        ("assignee", incident.assignee),
    )
    return [keys.index(name, value) for name, value in fields if value is not None]


def commit_arguments(
    keys: RedisKeys, commit: CorrelationCommit
) -> tuple[list[str], list[str | bytes | int]]:
    """Returns the KEYS and ARGV of :data:`COMMIT_LUA` for ``commit``.

    Raises ValueError for a consumed position that is not a stream entry ID, or a
    fingerprint with a newline (Tocsin's are hex digests; the script splits on newlines).
    """
    for position in commit.consumed:
        if not _STREAM_ID.fullmatch(position):
            raise ValueError(f"{position!r} is not an alert log position")
    events: dict[str, list[bytes]] = {}
    # The number of each event's list (from 1, in order of first appearance), event by event.
    numbers: dict[str, str] = {}
    order: list[str] = []
    for event in commit.events:
        timeline = events.get(event.incident_id)
        if timeline is None:
            timeline = events[event.incident_id] = []
            numbers[event.incident_id] = str(len(events))
        timeline.append(encode_event(event))
        order.append(numbers[event.incident_id])
    # CorrelationCommit checked that each alert's incident is one of the commit's.
    fingerprints: dict[str, list[str]] = {incident.id: [] for incident in commit.incidents}
    bodies: dict[str, list[bytes]] = {incident.id: [] for incident in commit.incidents}
    for write in commit.alerts:
        if "\n" in write.alert.fingerprint:
            raise ValueError(f"{write.alert.fingerprint!r} is not a fingerprint")
        fingerprints[write.incident_id].append(write.alert.fingerprint)
        bodies[write.incident_id].append(encode_alert(write.alert))
    lua_keys = [keys.alerts, keys.opened, keys.sweep]
    lua_keys += [keys.incident(i.id) for i in commit.incidents]
    lua_keys += [keys.incident_alerts(i.id) for i in commit.incidents]
    lua_keys += [keys.group(h.group_key) for h in commit.heads]
    lua_keys += [keys.events(incident_id) for incident_id in events]
    for document in commit.documents:
        lua_keys += [
            keys.consumer_documents(document.collection),
            keys.consumer_due(document.collection),
        ]
    for note in commit.notes:
        lua_keys += [keys.incident(note.incident_id), keys.events(note.incident_id)]
    lua_keys.append(keys.incident_events)
    args: list[str | bytes | int] = [
        commit.group,
        len(commit.incidents),
        len(commit.heads),
        len(events),
    ]
    for incident in commit.incidents:
        args += [incident.id, incident.version, micros(incident.opened_at)]
        args.append(encode_incident(incident))
        args.append("" if incident.sweep_at is None else micros(incident.sweep_at))
        args.append("\n".join(fingerprints[incident.id]))
        args.append(b"\n".join(bodies[incident.id]))
        args.append("\n".join(index_keys(keys, incident)))
        args.append(incident.title.casefold())
    for head in commit.heads:
        has_expected = head.expected is not None
        args += [int(has_expected), head.expected or "", head.incident_id]
    # CorrelationCommit checked that every event's incident is written.
    written = {incident.id: incident for incident in commit.incidents}
    for incident_id, timeline in events.items():
        incident = written[incident_id]
        args += [len(timeline), incident.version, incident.state.value]
        args.append(encode_snapshot(incident))
        args += timeline
    args.append("\n".join(commit.consumed))
    args.append("\n".join(order))
    args.append(len(commit.documents))
    for document in commit.documents:
        body = b"" if document.document is None else orjson.dumps(document.document)
        args += [document.key, body, "" if document.due is None else micros(document.due)]
    args.append(len(commit.notes))
    args += [encode_event(note.event) for note in commit.notes]
    return lua_keys, args
