"""Liveness, readiness and the Prometheus metrics endpoint."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.errors import StoreUnavailable
from tocsin.keys import CORRELATOR_PROCESS, REGISTRY, STORE, WRITE_HEALTH


async def healthy(request: web.Request) -> web.Response:
    """Answers 200 while the process serves HTTP at all."""
    return web.json_response({"status": "healthy"})


async def ready(request: web.Request) -> web.Response:
    """Answers 200 when this process can do its work, 503 (saying why) when it cannot.

    Ready means: the store answers, it accepts writes (a full disk is not ready), and
    the correlator child, if this process has one, runs and makes progress.
    """
    app = request.app
    reasons: list[str] = []
    body: dict[str, Any] = {}
    try:
        await app[STORE].ping()
    except StoreUnavailable as exc:
        reasons.append(str(exc))
    else:
        write_health = app.get(WRITE_HEALTH)
        problem = None if write_health is None else await write_health.problem(app[STORE])
        if problem is not None:
            reasons.append(problem)
    child = app.get(CORRELATOR_PROCESS)
    if child is not None:
        body["correlator"] = child.health.as_json()
        if not child.health.ready:
            reasons.append(f"the correlator child process is {child.health.state.value}")
    if reasons:
        return web.json_response(
            {"status": "not ready", "reason": "; ".join(reasons), **body}, status=503
        )
    return web.json_response({"status": "ready", **body})


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
