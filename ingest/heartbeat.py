"""``POST /ingest/heartbeat/{name}``: the ping of a dead man's switch.

Any webhook-kind source may ping; ``ingest.heartbeat_pings`` stores the ping.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import web

from core.clock import Clock
from core.errors import NotFound, Unauthenticated
from core.model import SourceKind
from core.timestamps import format_rfc3339
from ingest.gate import SourceGate
from ingest.heartbeat_pings import HeartbeatPings
from ingest.throttled_log import ThrottledLog, log_unauthenticated

log = structlog.get_logger("tocsin.ingest")


class UnknownHeartbeat(NotFound):
    """No heartbeat of that name is defined in the rules (404)."""


class HeartbeatHandler:
    """Takes heartbeat pings at ``POST /ingest/heartbeat/{name}``."""

    def __init__(self, gate: Callable[[], SourceGate], pings: HeartbeatPings, clock: Clock) -> None:
        self._gate = gate
        self._pings = pings
        self._clock = clock
        self._refusals = ThrottledLog(log, clock)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the ping endpoint."""
        router.add_post("/ingest/heartbeat/{name}", self.ping)

    async def ping(self, request: web.Request) -> web.Response:
        """Takes one ping; 200 once it is stored."""
        gate = self._gate()
        try:
            source = gate.by_header(SourceKind.WEBHOOK, request.headers.get("Authorization"))
        except Unauthenticated as exc:
            log_unauthenticated(self._refusals, request, exc)
            raise
        name = request.match_info["name"]
        heartbeat = gate.heartbeats.get(name)
        if heartbeat is None:
            raise UnknownHeartbeat(f"no heartbeat named {name[:64]!r} in the rules", field="name")
        now = self._clock.now()
        gate.admit(source, 1, now)  # a ping costs one alert of the source's rate limit
        await self._pings.record(heartbeat, source.name, now)
        return web.json_response(
            {
                "status": "success",
                "heartbeat": name,
                "next_ping_due_by": format_rfc3339(now + heartbeat.interval),
            }
        )
