"""``POST /ingest/heartbeat/{name}``: the ping of a dead man's switch.

Any webhook-kind source may ping. The time of the ping is kept in the store; the
correlator's sweep opens an incident when a heartbeat's pings stop for longer than its
interval. A ping after such a gap (or the very first ping) also logs the resolve of the
"heartbeat missing" alert, so the incident resolves as soon as the pings come back.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import web

from core.clock import Clock
from core.errors import NotFound
from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus, SourceKind
from core.store import CursorStore
from core.timestamps import format_rfc3339, from_micros, micros
from ingest.gate import SourceGate
from ingest.service import IngestService

log = structlog.get_logger("tocsin.ingest")


class UnknownHeartbeat(NotFound):
    """No heartbeat of that name is defined in the rules (404)."""


class HeartbeatHandler:
    """Records heartbeat pings."""

    def __init__(
        self,
        gate: Callable[[], SourceGate],
        cursors: CursorStore,
        service: IngestService,
        clock: Clock,
    ) -> None:
        self._gate = gate
        self._cursors = cursors
        self._service = service
        self._clock = clock

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the ping endpoint."""
        router.add_post("/ingest/heartbeat/{name}", self.ping)

    async def ping(self, request: web.Request) -> web.Response:
        """Takes one ping; 200 once it is stored."""
        gate = self._gate()
        source = gate.by_header(SourceKind.WEBHOOK, request.headers.get("Authorization"))
        name = request.match_info["name"]
        heartbeat = gate.heartbeats.get(name)
        if heartbeat is None:
            raise UnknownHeartbeat(f"no heartbeat named {name!r} in the rules")
        now = self._clock.now()
        previous = await self._cursors.load_cursor(heartbeat.cursor)
        overdue = previous is None or now - from_micros(int(previous)) > heartbeat.interval
        if overdue:
            labels = heartbeat.alert_labels()
            await self._service.store(
                source.name,
                [
                    Alert(
                        source=source.name,
                        fingerprint=labels_fingerprint(labels),
                        labels=labels,
                        annotations={"summary": f"heartbeat {name} is back"},
                        status=AlertStatus.RESOLVED,
                        starts_at=now,
                        ends_at=now,
                        generator_url="",
                        received_at=now,
                    )
                ],
                now,
            )
        await self._cursors.save_cursor(heartbeat.cursor, str(micros(now)))
        log.info("heartbeat", heartbeat=name, after_gap=overdue)
        return web.json_response(
            {
                "status": "success",
                "heartbeat": name,
                "next_ping_due_by": format_rfc3339(now + heartbeat.interval),
            }
        )
