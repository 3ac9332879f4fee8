"""The four ingest endpoints: authenticate, check, decode, rate-limit, store, answer.

Order matters: credentials are checked before the body is read, so strangers cost
little; valid items are stored before a 400 names the invalid ones, so nothing valid is
lost; the answer is sent only once the alerts are durable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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
from ingest.body import content_codings, read_body
from ingest.decode import BatchFormat, Decoded, decode_items
from ingest.decode.alertmanager_api import ALERTMANAGER_API
from ingest.decode.alertmanager_webhook import ALERTMANAGER_WEBHOOK
from ingest.decode.pagerduty import PAGERDUTY, routing_key_of
from ingest.decode.webhook import WEBHOOK
from ingest.gate import SourceGate
from ingest.heartbeat_pings import HeartbeatPings
from ingest.limits import IngestLimits
from ingest.metrics import IngestMetrics
from ingest.relabel import without_labels
from ingest.service import IngestService
from ingest.throttled_log import ThrottledLog, log_unauthenticated
from rules.model import SourceConfig

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

# The endpoints that read (and decode) their bodies with ingest.body.read_body, after
# checking the sender's credentials.
INGEST_PATHS = frozenset(
    {"/ingest/alertmanager", "/api/v2/alerts", "/ingest/webhook", "/v2/enqueue"}
)


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
            request, SourceKind.ALERTMANAGER, ALERTMANAGER_WEBHOOK
        )

    async def alertmanager_api(self, request: web.Request) -> web.Response:
        """Alertmanager's ``POST /api/v2/alerts``, for Prometheus and amtool."""
        return await self._header_authenticated(
            request, SourceKind.ALERTMANAGER_API, ALERTMANAGER_API
        )

    async def webhook(self, request: web.Request) -> web.Response:
        """Tocsin's generic JSON webhook."""
        return await self._header_authenticated(request, SourceKind.WEBHOOK, WEBHOOK)

    async def _header_authenticated(
        self, request: web.Request, kind: SourceKind, fmt: BatchFormat
    ) -> web.Response:
        source_name = "unknown"
        try:
            source = self._gate().by_header(kind, request.headers.get("Authorization"))
            source_name = source.name
            structlog.contextvars.bind_contextvars(source=source.name)
            body = await self._read_json(request, self._limits.max_body_bytes)
            stored, deduplicated = await self._accept(source, body, fmt)
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
            dedup_key = await self._accept_event(source, body)
        except (InputError, StoreUnavailable) as exc:
            self._count_rejection(request, source_name, exc)
            if isinstance(exc, ClientDisconnected):
                raise  # nobody reads an answer: the middleware's debug line is all
            return pagerduty_error(exc)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    async def _accept_event(self, source: SourceConfig, body: Any) -> str | None:
        stored: list[str | None] = []

        def decode_and_keep(decoded: Decoded) -> None:
            stored.extend(alert.dedup_key for alert in decoded.alerts)

        await self._accept(source, body, PAGERDUTY, decode_and_keep)
        return stored[0] if stored else None

    async def _accept(
        self,
        source: SourceConfig,
        body: Any,
        fmt: BatchFormat,
        on_decoded: Callable[[Decoded], None] | None = None,
    ) -> tuple[int, int]:
        """Counts the items, refuses too many, rate-limits them, then decodes and stores.

        Nothing is decoded before the count and the rate limit have passed: a source over
        its limit, or a request of a million items, costs no decoding.
        """
        received = self._metrics.received.labels(source.name)
        try:
            items = fmt.items(body)
        except MalformedInput:
            # A body that is not a batch at all counts as one invalid item.
            received.inc()
            self._metrics.rejected.labels(source.name, "invalid").inc()
            raise
        count = len(items)
        received.inc(count)
        if count > self._limits.max_alerts:
            self._metrics.rejected.labels(source.name, "too_large").inc(count)
            raise PayloadTooLarge(
                f"a request carries at most {self._limits.max_alerts} alerts, not {count} "
                "(--max-alerts-per-request)",
                field="alerts",
            )
        now = self._clock.now()
        gate = self._gate()
        try:
            admission = gate.admit(source, count, now)
        except RateLimited:
            self._metrics.rejected.labels(source.name, "rate_limited").inc(count)
            raise
        decoded = await decode_items(
            fmt, items[: admission.granted], self._limits.alert, source.name, now
        )
        if on_decoded is not None:
            on_decoded(decoded)
        return await self._store(source, decoded, count, admission.retry_after)

    async def _store(
        self, source: SourceConfig, decoded: Decoded, count: int, retry_after: float
    ) -> tuple[int, int]:
        if source.drop_labels:
            decoded.alerts = without_labels(decoded.alerts, source.drop_labels)
        now = self._clock.now()
        alerts = await self._pings.take_expected(
            self._gate().alert_heartbeats, source.name, decoded.alerts, now
        )
        # Alerts a heartbeat consumed are accepted: their ping is durable.
        self._metrics.accepted.labels(source.name).inc(len(decoded.alerts) - len(alerts))
        result = await self._service.store(source.name, alerts, now)
        if decoded.invalid:
            self._metrics.rejected.labels(source.name, "invalid").inc(decoded.invalid)
        if decoded.items < count:
            self._metrics.rejected.labels(source.name, "rate_limited").inc(count - decoded.items)
            raise RateLimited(source.name, retry_after, accepted=len(decoded.alerts))
        if decoded.problems:
            log.info("alerts rejected", accepted=len(decoded.alerts), rejected=decoded.invalid)
            raise decoded.problems.error(accepted=len(decoded.alerts))
        return result.stored, result.deduplicated

    async def _read_json(self, request: web.Request, max_bytes: int) -> Any:
        content_codings(request)  # 415 for an unknown coding, before the type or size
        if request.content_type != "application/json" and not request.content_type.endswith(
            "+json"
        ):
            raise UnsupportedMedia(
                f"Content-Type must be application/json, not {request.content_type[:64]!r}",
                field="Content-Type",
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
        if reason is None or reason in ("invalid", "rate_limited"):
            return  # counted alert by alert where they are found (_accept, _store)
        if getattr(error, "field", None) == "alerts":
            return  # too many alerts: counted alert by alert in _accept
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
    if isinstance(error, MalformedInput) and error.more:
        body["more_problems"] = error.more
    if isinstance(error, InputError) and error.field is not None:
        body["field"] = error.field
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = retry_after_header(error.retry_after)
        body["accepted"] = error.accepted or 0
    return web.json_response(body, status=status, headers=headers)


def retry_after_header(seconds: float) -> str:
    """Formats a wait as the whole seconds of a Retry-After header, never 0."""
    return str(max(1, math.ceil(seconds)))
