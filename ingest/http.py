"""The four ingest endpoints: authenticate, check, decode, rate-limit, store, answer.

Order matters: credentials are checked before the body is read, so strangers cost
little; valid items are stored before a 400 names the invalid ones, so nothing valid is
lost; the answer is sent only once the alerts are durable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import structlog
from aiohttp import web

from core.clock import Clock
from core.errors import (
    ClientDisconnected,
    InputError,
    ItemProblem,
    MalformedInput,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    StoreUnavailable,
    Unauthenticated,
    UnsupportedMedia,
)
from core.model import SourceKind
from ingest.body import read_body
from ingest.decode import Decoded
from ingest.decode.alertmanager_api import decode_alertmanager_api
from ingest.decode.alertmanager_webhook import decode_alertmanager_webhook
from ingest.decode.fields import AlertLimits
from ingest.decode.pagerduty import decode_pagerduty, routing_key_of
from ingest.decode.webhook import decode_webhook
from ingest.gate import SourceGate
from ingest.heartbeat_pings import HeartbeatPings
from ingest.limits import IngestLimits
from ingest.metrics import IngestMetrics
from ingest.relabel import without_labels
from ingest.service import IngestService
from ingest.throttled_log import ThrottledLog, log_unauthenticated
from rules.model import SourceConfig

Decoder = Callable[[Any, str, datetime, AlertLimits], Decoded]

_REASONS: dict[type[Exception], str] = {
    MalformedInput: "invalid",
    Unauthenticated: "unauthenticated",
    RateLimited: "rate_limited",
    PayloadTooLarge: "too_large",
    RequestTimeout: "timeout",
    ClientDisconnected: "disconnected",
    UnsupportedMedia: "unsupported_media",
    StoreUnavailable: "store_unavailable",
}

log = structlog.get_logger("tocsin.ingest")


class IngestHandlers:
    """aiohttp handlers for every ingest endpoint; the gate is looked up per request (reloads)."""

    def __init__(
        self,
        gate: Callable[[], SourceGate],
        service: IngestService,
        metrics: IngestMetrics,
        clock: Clock,
        limits: IngestLimits,
        pings: HeartbeatPings,
    ) -> None:
        self._gate = gate
        self._service = service
        self._pings = pings
        self._metrics = metrics
        self._clock = clock
        self._limits = limits
        self._refusals = ThrottledLog(log, clock)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Registers the ingest endpoints."""
        router.add_post("/ingest/alertmanager", self.alertmanager_webhook)
        router.add_post("/api/v2/alerts", self.alertmanager_api)
        router.add_post("/ingest/webhook", self.webhook)
        router.add_post("/v2/enqueue", self.pagerduty)

    async def alertmanager_webhook(self, request: web.Request) -> web.Response:
        """Alertmanager's webhook receiver (payload version 4)."""
        return await self._header_authenticated(
            request, SourceKind.ALERTMANAGER, decode_alertmanager_webhook
        )

    async def alertmanager_api(self, request: web.Request) -> web.Response:
        """Alertmanager's ``POST /api/v2/alerts``, for Prometheus and amtool."""
        return await self._header_authenticated(
            request, SourceKind.ALERTMANAGER_API, decode_alertmanager_api
        )

    async def webhook(self, request: web.Request) -> web.Response:
        """Tocsin's generic JSON webhook."""
        return await self._header_authenticated(request, SourceKind.WEBHOOK, decode_webhook)

    async def _header_authenticated(
        self, request: web.Request, kind: SourceKind, decode: Decoder
    ) -> web.Response:
        source_name = "unknown"
        try:
            source = self._gate().by_header(kind, request.headers.get("Authorization"))
            source_name = source.name
            structlog.contextvars.bind_contextvars(source=source.name)
            body = await self._read_json(request, self._limits.max_body_bytes)
            stored, deduplicated = await self._accept(source, body, decode)
        except (InputError, StoreUnavailable) as exc:
            self._count_rejection(request, source_name, exc)
            raise
        return web.json_response(
            {"status": "success", "stored": stored, "deduplicated": deduplicated}
        )

    async def pagerduty(self, request: web.Request) -> web.Response:
        """PagerDuty Events API v2: answers with PagerDuty's bodies and status codes."""
        source_name = "unknown"
        try:
            body = await self._read_json(request, self._limits.pagerduty_body_bytes)
            source = self._gate().by_routing_key(routing_key_of(body))
            source_name = source.name
            structlog.contextvars.bind_contextvars(source=source.name)
            decoded = decode_pagerduty(body, source.name, self._clock.now(), self._limits.alert)
            await self._store(source, decoded)
        except (InputError, StoreUnavailable) as exc:
            self._count_rejection(request, source_name, exc)
            if isinstance(exc, ClientDisconnected):
                raise  # nobody reads an answer: the middleware's debug line is all
            return pagerduty_error(exc)
        dedup_key = decoded.alerts[0].dedup_key
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    async def _accept(self, source: SourceConfig, body: Any, decode: Decoder) -> tuple[int, int]:
        decoded = decode(body, source.name, self._clock.now(), self._limits.alert)
        return await self._store(source, decoded)

    async def _store(self, source: SourceConfig, decoded: Decoded) -> tuple[int, int]:
        if source.drop_labels:
            decoded.alerts = without_labels(decoded.alerts, source.drop_labels)
        self._metrics.received.labels(source.name).inc(len(decoded.alerts) + len(decoded.problems))
        now = self._clock.now()
        gate = self._gate()
        admission = gate.admit(source, len(decoded.alerts), now)
        granted = decoded.alerts[: admission.granted]
        alerts = await self._pings.take_expected(gate.alert_heartbeats, source.name, granted, now)
        # Alerts a heartbeat consumed are accepted: their ping is durable.
        self._metrics.accepted.labels(source.name).inc(len(granted) - len(alerts))
        result = await self._service.store(source.name, alerts, now)
        if len(granted) < len(decoded.alerts):
            refused = len(decoded.alerts) - len(granted)
            self._metrics.rejected.labels(source.name, "rate_limited").inc(refused)
            raise RateLimited(source.name, admission.retry_after, accepted=len(granted))
        if decoded.problems:
            self._metrics.rejected.labels(source.name, "invalid").inc(len(decoded.problems))
            log.info(
                "alerts rejected", accepted=len(decoded.alerts), rejected=len(decoded.problems)
            )
            raise MalformedInput(decoded.problems, accepted=len(decoded.alerts))
        return result.stored, result.deduplicated

    async def _read_json(self, request: web.Request, max_bytes: int) -> Any:
        if request.content_length is not None and request.content_length > max_bytes:
            raise PayloadTooLarge(f"body is larger than {max_bytes} bytes")
        if request.content_type != "application/json" and not request.content_type.endswith(
            "+json"
        ):
            raise UnsupportedMedia(
                f"Content-Type must be application/json, not {request.content_type!r}"
            )
        raw = await read_body(request, max_bytes, self._limits.body_timeout_seconds)
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MalformedInput([ItemProblem(None, "", f"body is not valid JSON: {exc}")]) from exc

    def _count_rejection(self, request: web.Request, source: str, error: Exception) -> None:
        if isinstance(error, Unauthenticated):
            log_unauthenticated(self._refusals, request, error)
        reason = _REASONS.get(type(error))
        if reason is None or reason == "invalid":
            return  # invalid items are counted one by one where they are found
        if isinstance(error, RateLimited) and error.accepted is not None:
            return  # the refused rest of a batch is counted alert by alert
        self._metrics.rejected.labels(source, reason).inc()


def pagerduty_error(error: InputError | StoreUnavailable) -> web.Response:
    """Renders an error the way the PagerDuty Events API does, plus Tocsin's field list."""
    status = error.status if isinstance(error, InputError) else 503
    problems = error.problems if isinstance(error, MalformedInput) else ()
    body: dict[str, Any] = {
        "status": "invalid event" if status == 400 else "error",
        "message": "Event object is invalid" if status == 400 else str(error),
        "errors": [f"'{p.field}' {p.reason}" if p.field else p.reason for p in problems]
        or [str(error)],
        "problems": [p.as_json() for p in problems],
    }
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = retry_after_header(error.retry_after)
    return web.json_response(body, status=status, headers=headers)


def retry_after_header(seconds: float) -> str:
    """Formats a wait as the whole seconds of a Retry-After header, never 0."""
    return str(max(1, math.ceil(seconds)))
