"""What the Redis store keeps beside the log: alerts' latest ends and its identity.

Keys, after the store's prefix::

    alerts:ends    sorted set: fingerprint scored by the latest end its sender gave, in
                   microseconds (ZADD GT keeps the later of two, so writes that land out of
                   order never move an end back; scores are exact below 2**53 µs)
    generation     string: a random token, made by the first ``identity`` that finds none

The store's identity is that token and the server's ``run_id``: a Redis that restarted
(even with AOF), was flushed, or is another server after a failover answers a new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.store.redis_support import text, translated
from core.timestamps import from_micros, micros

# Returns the generation token, making one if there is none.
_GENERATION_LUA = """
local token = redis.call('GET', KEYS[1])
if not token then
  token = ARGV[1]
  redis.call('SET', KEYS[1], token)
end
return token
"""


class RedisFreshness:
    """Alerts' latest ends and the store's identity on one Redis."""

    def __init__(self, prefix: str, client: Callable[[], Redis]) -> None:
        self._ends = f"{prefix}alerts:ends"
        self._generation = f"{prefix}generation"
        self._client = client

    def queue_extend(self, pipe: Pipeline, ends: Mapping[str, datetime]) -> None:
        """Adds the write of ``ends`` to a pipeline (the append flusher's MULTI/EXEC)."""
        pipe.zadd(self._ends, {fp: micros(end) for fp, end in ends.items()}, gt=True)

    async def latest_ends(self, fingerprints: Collection[str]) -> dict[str, datetime]:
        """Returns the recorded end of each of ``fingerprints`` that has one."""
        wanted = list(fingerprints)
        if not wanted:
            return {}
        with translated("read alerts' latest ends"):
            scores = await self._client().zmscore(self._ends, wanted)
        return {
            fingerprint: from_micros(int(score))
            for fingerprint, score in zip(wanted, scores, strict=True)
            if score is not None
        }

    async def forget_ends(self, before: datetime) -> None:
        """Deletes the recorded ends earlier than ``before``."""
        with translated("forget alerts' ends"):
            await self._client().zremrangebyscore(self._ends, "-inf", f"({micros(before)}")

    async def identity(self) -> str:
        """The generation token and the server's run_id, in one round trip.

        A server that refuses INFO (an ACL, a renamed command) is known by its token alone.
        """
        with translated("read the store's identity"):
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.eval(_GENERATION_LUA, 1, self._generation, uuid.uuid4().hex)
                pipe.info("server")
                token, info = await pipe.execute(raise_on_error=False)
            if isinstance(token, Exception):
                raise token
        run_id = info.get("run_id", "") if isinstance(info, dict) else ""
        return f"{text(token)}:{run_id}"
