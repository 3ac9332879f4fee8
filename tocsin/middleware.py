"""Middlewares: request ids in logs, errors to JSON answers in one place, request latency."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Histogram

from core.errors import (
    ClientDisconnected,
    InputError,
    MalformedInput,
    RateLimited,
    StoreUnavailable,
)
from ingest.http import retry_after_header

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
        body["accepted"] = exc.accepted
        return web.json_response(body, status=400)
    except RateLimited as exc:
        limited = error_body(429, str(exc))
        if exc.accepted is not None:
            limited["accepted"] = exc.accepted  # the first alerts of an oversized batch
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
        return web.json_response(error_body(413, exc.text or "body too large"), status=413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(
            error_body(exc.status, exc.reason), status=exc.status, headers=_allow(exc)
        )
    except Exception:
        log.exception("unhandled error")
        return web.json_response(error_body(500, "internal error"), status=500)


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
