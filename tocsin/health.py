"""Liveness, readiness and the Prometheus metrics endpoint."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.errors import StoreUnavailable
from tocsin.keys import CORRELATOR_PROCESS, REGISTRY, STORE


async def healthy(request: web.Request) -> web.Response:
    """Answers 200 while the process serves HTTP at all."""
    return web.json_response({"status": "healthy"})


async def ready(request: web.Request) -> web.Response:
    """Answers 200 when the store takes requests, 503 when it does not."""
    try:
        await request.app[STORE].ping()
    except StoreUnavailable as exc:
        return web.json_response({"status": "not ready", "reason": str(exc)}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Exposes the application's registry, and its correlator child's, in the text format."""
    body = generate_latest(request.app[REGISTRY])
    child = request.app.get(CORRELATOR_PROCESS)
    if child is not None:
        body += await child.metrics_text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(router: web.UrlDispatcher) -> None:
    """Registers /-/healthy, /-/ready and /metrics."""
    router.add_get("/-/healthy", healthy)
    router.add_get("/-/ready", ready)
    router.add_get("/metrics", metrics)
