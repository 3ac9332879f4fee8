"""Middlewares: request ids in logs, errors to JSON answers in one place, request latency."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import StreamReader, web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Histogram

from core.errors import (
    ClientDisconnected,
    InputError,
    MalformedInput,
    RateLimited,
    StoreUnavailable,
)
from ingest.body import content_codings, read_body
from ingest.http import INGEST_PATHS, retry_after_header
from tocsin.operator.auth import authenticated

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("tocsin.http")


def error_body(
    status: int, message: str, problems: list[dict[str, object]] | None = None
) -> dict[str, object]:
    """The JSON body of every error answer: status, a message and, for 400s, each bad field."""
    body: dict[str, object] = {"status": "error", "code": status, "error": message}
    if problems is not None:
        body["problems"] = problems
    return body


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Maps Tocsin's errors (and aiohttp's own) to JSON answers with the right status."""
    try:
        return await handler(request)
    except MalformedInput as exc:
        body = error_body(400, "invalid input", [p.as_json() for p in exc.problems])
        if exc.more:
            body["more_problems"] = exc.more  # only the first MAX_PROBLEMS are listed
        body["accepted"] = exc.accepted
        return web.json_response(body, status=400)
    except RateLimited as exc:
        limited = error_body(429, str(exc))
        # Alerts stored before the limit: the first alerts of an oversized batch, or 0.
        limited["accepted"] = exc.accepted or 0
        return web.json_response(
            limited,
            status=429,
            headers={"Retry-After": retry_after_header(exc.retry_after)},
        )
    except ClientDisconnected as exc:
        # Nobody reads this answer: a quiet line, not a 500 with a traceback.
        log.debug("client disconnected mid-request", path=request.path, error=str(exc))
        return web.json_response(error_body(exc.status, str(exc)), status=exc.status)
    except InputError as exc:
        headers = {"WWW-Authenticate": 'Bearer realm="tocsin"'} if exc.status == 401 else {}
        # The field at fault (and, for the operator API, each problem); no ingest members.
        return web.json_response(
            {**error_body(exc.status, str(exc)), **exc.details()},
            status=exc.status,
            headers=headers,
        )
    except StoreUnavailable as exc:
        log.warning("store unavailable", error=str(exc), cause=repr(exc.__cause__))
        # 503 tells Alertmanager and Prometheus to retry; nothing was acknowledged.
        return web.json_response(
            error_body(503, "store unavailable, retry later"),
            status=503,
            headers={"Retry-After": "1"},
        )
    except web.HTTPRequestEntityTooLarge as exc:
        return web.json_response(
            {**error_body(413, exc.text or "body too large"), "field": "body"}, status=413
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = error_body(exc.status, exc.reason)
        field = _HTTP_FIELDS.get(exc.status)
        if field is not None:
            body["field"] = field
        return web.json_response(body, status=exc.status, headers=_allow(exc))
    except Exception:
        log.exception("unhandled error")
        return web.json_response(error_body(500, "internal error"), status=500)


# What aiohttp's own 4xx answers are about: the path no route matches, the method the
# route does not take, the media type. The body names it, as Tocsin's own errors do.
_HTTP_FIELDS = {404: "path", 405: "method", 415: "Content-Type"}


def content_encoding_middleware(max_bytes: int, deadline_seconds: float) -> Middleware:
    """Returns a middleware that takes only the Content-Encodings Tocsin decodes.

    The application turns aiohttp's automatic decompression off (see ingest.body): this
    refuses an unknown coding with a JSON 415 naming ``Content-Encoding`` on every path,
    and decodes a gzip or deflate body for the handlers that read ``request.content``
    themselves. The ingest endpoints decode in :func:`ingest.body.read_body`, after their
    credentials are checked; here too only a request with an accepted API key is
    decoded, so that nobody without one makes the server inflate a body (its handler
    then answers 401 before it reads anything).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        codings = content_codings(request)
        if (
            codings
            and request.path not in INGEST_PATHS
            and request.can_read_body
            and authenticated(request)
        ):
            body = await read_body(request, max_bytes, deadline_seconds)
            decoded = StreamReader(
                request.protocol, max(len(body), 2**16), loop=asyncio.get_running_loop()
            )
            decoded.feed_data(body)
            decoded.feed_eof()
            # A clone, whose ``content`` is not cached yet (reading cached the original's);
            # ``_payload`` is aiohttp's own attribute (in its ATTRS) behind ``content``.
            request = request.clone()
            request._payload = decoded
        return await handler(request)

    return middleware


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Binds a request id (the caller's X-Request-Id, or a new one) to every log line."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    response = await handler(request)
    response.headers["X-Request-Id"] = request_id
    return response


def latency_middleware(registry: CollectorRegistry) -> Middleware:
    """Returns a middleware that observes request latency by route, method and status."""
    histogram = Histogram(
        "tocsin_http_request_duration_seconds",
        "HTTP request latency by route, method and status code.",
        ["route", "method", "code"],
        registry=registry,
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        histogram.labels(name, request.method, str(response.status)).observe(
            time.perf_counter() - started
        )
        return response

    return middleware
