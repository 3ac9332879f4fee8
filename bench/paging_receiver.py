"""The paging bench's webhook receiver: an aiohttp server in a process of its own.

It accepts Tocsin's webhook pages (``POST /tocsin``: the bench's rules title each
incident with its alert's ``bench_id`` label) and Alertmanager's webhook notifications
(``POST /alertmanager``: ``alerts[].labels.bench_id``), answers 200 at once, and notes
when the first notification for each bench id arrived, in ``time.monotonic()`` seconds,
which is the same clock (``CLOCK_MONOTONIC``) in every process of the machine, so the
bench's sender can subtract its own readings. ``GET /-/results`` returns what arrived
(first arrival per id, how many notifications in all); ``POST /-/reset`` forgets it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from bench.servers import free_port

START_DEADLINE_S = 10.0
Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass(slots=True)
class Arrivals:
    """What reached the receiver since the last reset."""

    first: dict[str, float] = field(default_factory=dict)  # bench id -> monotonic s
    notifications: int = 0  # requests received
    alerts: int = 0  # bench ids named in them, duplicates included

    def note(self, ids: list[str], at: float) -> None:
        """Counts one notification naming ``ids``, received at ``at``."""
        self.notifications += 1
        self.alerts += len(ids)
        for bench_id in ids:
            self.first.setdefault(bench_id, at)


def _tocsin_ids(body: bytes) -> list[str]:
    title = orjson.loads(body)["incident"]["title"]
    return [title] if isinstance(title, str) else []


def _alertmanager_ids(body: bytes) -> list[str]:
    alerts = orjson.loads(body).get("alerts", [])
    return [str(a["labels"]["bench_id"]) for a in alerts if "bench_id" in a.get("labels", {})]


def application(arrivals: Arrivals) -> web.Application:
    """The receiver's routes over ``arrivals``."""

    def receiving(parse: Callable[[bytes], list[str]]) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            at = time.monotonic()
            arrivals.note(parse(body), at)
            return web.Response(status=200)

        return handle

    async def results(request: web.Request) -> web.Response:
        payload = {
            "first": arrivals.first,
            "notifications": arrivals.notifications,
            "alerts": arrivals.alerts,
        }
        return web.Response(body=orjson.dumps(payload), content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.Response(text=str(len(arrivals.first)))

    async def reset(request: web.Request) -> web.Response:
        arrivals.first.clear()
        arrivals.notifications = arrivals.alerts = 0
        return web.Response(status=204)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/tocsin", receiving(_tocsin_ids))
    app.router.add_post("/alertmanager", receiving(_alertmanager_ids))
    app.router.add_get("/-/results", results)
    app.router.add_get("/-/count", count)
    app.router.add_post("/-/reset", reset)
    return app


def _serve(port: int, ready: multiprocessing.synchronize.Event) -> None:
    """The child process: serves until terminated."""

    async def started(app: web.Application) -> None:
        ready.set()

    app = application(Arrivals())
    app.on_startup.append(started)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextmanager
def receiver() -> Iterator[str]:
    """Runs a receiver process until the block ends; yields its base URL."""
    port = free_port()
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    process.start()
    try:
        if not ready.wait(START_DEADLINE_S):
            raise RuntimeError(f"the webhook receiver did not start within {START_DEADLINE_S}s")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
