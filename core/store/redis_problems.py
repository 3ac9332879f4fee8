"""The problem half of the Redis store: problems, their indexes, and the write script.

Keys, after the store's prefix::

    problem:{id}               hash: ``version`` and ``record`` (core.store.problems' JSON)
    problems:created           sorted set: problem ids scored by created_at in microseconds
    problems:state:{state}     sorted set: the ids of the problems in that state, likewise

A write is one EVALSHA of :data:`WRITE_PROBLEM_LUA`, which checks the problem's version
and then runs the incident commit script (``redis_scripts.COMMIT_LUA``, wrapped in a
function that it calls with the incident commit's own KEYS and ARGV) before it writes
the problem: the script checks everything before its first write, and Redis runs it
without interleaving other commands, so a problem and the incidents it links are
written together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core.incident import Incident, IncidentEvent
from core.problems import Problem, ProblemState
from core.store import OPERATOR_GROUP, CorrelationCommit, VersionConflict
from core.store.problems import ProblemConflict, decode_problem, encode_problem
from core.store.redis_scripts import COMMIT_LUA, RedisKeys, commit_arguments
from core.store.redis_support import text, translated
from core.timestamps import micros

_STATES = tuple(ProblemState)

# KEYS: the problem hash, the creation index, one index per state (in _STATES' order),
#       then the incident commit's KEYS (none without incidents).
# ARGV: whether there is an incident commit (1/0), id, version, created micros, state
#       number (1-based, into the state indexes), record; then the incident commit's ARGV.
# The outcome is 'OK', 'problem ...' for a problem that moved, or the incident commit's.
WRITE_PROBLEM_LUA = (
    "local function commit_incidents(KEYS, ARGV)\n"
    + COMMIT_LUA
    + """
end

local own_keys, own_args = 2 + STATE_INDEXES, 6
local stored = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if stored ~= tonumber(ARGV[3]) - 1 then
    return 'problem ' .. ARGV[2] .. ' is at version ' .. stored
end
if ARGV[1] == '1' then
    local keys, args = {}, {}
    for i = own_keys + 1, #KEYS do keys[#keys + 1] = KEYS[i] end
    for i = own_args + 1, #ARGV do args[#args + 1] = ARGV[i] end
    local outcome = commit_incidents(keys, args)
    if outcome ~= 'OK' then
        return outcome
    end
end
redis.call('HSET', KEYS[1], 'version', ARGV[3], 'record', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
for i = 3, own_keys do
    redis.call('ZREM', KEYS[i], ARGV[2])
end
redis.call('ZADD', KEYS[2 + tonumber(ARGV[5])], ARGV[4], ARGV[2])
return 'OK'
""".replace("STATE_INDEXES", str(len(_STATES)))
)


class RedisProblems:
    """Problems on the store's connection pool."""

    def __init__(self, keys: RedisKeys, client: Callable[[], Redis]) -> None:
        """``client`` returns the open pool, or raises StoreUnavailable once it is closed."""
        self._prefix = keys.prefix
        self._keys = keys
        self._client = client
        self._script: AsyncScript | None = None

    def _problem(self, problem_id: str) -> str:
        return f"{self._prefix}problem:{problem_id}"

    def _created(self) -> str:
        return f"{self._prefix}problems:created"

    def _state(self, state: ProblemState) -> str:
        return f"{self._prefix}problems:state:{state.value}"

    async def write_problem(
        self,
        problem: Problem,
        incidents: Sequence[Incident] = (),
        events: Sequence[IncidentEvent] = (),
    ) -> CorrelationCommit | None:
        """Runs the write script; returns the incident commit it wrote, if any.

        Raises ProblemConflict if the problem moved, VersionConflict if an incident did.
        """
        client = self._client()
        if self._script is None:
            self._script = client.register_script(WRITE_PROBLEM_LUA)
        keys = [self._problem(problem.id), self._created()]
        keys += [self._state(state) for state in _STATES]
        args: list[str | bytes | int] = [
            int(bool(incidents)),
            problem.id,
            problem.version,
            micros(problem.created_at),
            _STATES.index(problem.state) + 1,
            encode_problem(problem),
        ]
        change = None
        if incidents:
            change = CorrelationCommit(
                OPERATOR_GROUP, incidents=tuple(incidents), events=tuple(events)
            )
            commit_keys, commit_args = commit_arguments(self._keys, change)
            keys += commit_keys
            args += commit_args
        with translated("write a problem"):
            outcome = text(await self._script(keys=keys, args=args, client=client))
        if outcome.startswith("problem "):
            raise ProblemConflict(outcome)
        if outcome != "OK":
            raise VersionConflict(outcome)
        return change

    async def get_problem(self, problem_id: str) -> Problem | None:
        """Returns the problem, or None."""
        client = self._client()
        with translated("read a problem"):
            record = await client.hget(self._problem(problem_id), "record")
        return None if record is None else decode_problem(record)

    async def list_problems(self, state: ProblemState | None, limit: int) -> list[Problem]:
        """Returns up to ``limit`` problems (in ``state``), newest first, from an index."""
        if limit <= 0:
            return []
        client = self._client()
        index = self._created() if state is None else self._state(state)
        with translated("list problems"):
            # Same score: ZREVRANGE orders by member descending, the id order of SQLite.
            ids = [
                text(i)
                for i in await client.zrevrange(index, 0, limit - 1)
                if isinstance(i, bytes | str)
            ]
            if not ids:
                return []
            async with client.pipeline(transaction=False) as pipe:
                for problem_id in ids:
                    pipe.hget(self._problem(problem_id), "record")
                records = await pipe.execute()
        return [decode_problem(record) for record in records if record is not None]
