"""``GET /api/v2/status`` and ``GET /api/v2/receivers``.

Clients check the version (Karma wants Alertmanager 0.22 or later): ``versionInfo``
reports the Alertmanager API version Tocsin implements, 0.25.0, with Tocsin's own in
``revision`` and ``goVersion``. ``config.original`` holds the rules files in force on
disk (they hold no secrets: those live in files or variables they name). The cluster
is this replica and, on Redis, every ``tocsin serve`` that announced itself lately.
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import orjson
import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.errors import StoreError
from rules.api_keys import Role
from rules.model import Rules
from rules.routing import walk
from tocsin.amapi.alert_view import DEFAULT_RECEIVER
from tocsin.amapi.errors import add_get
from tocsin.keys import CLOCK, SETTINGS, STARTED_AT, STORE
from tocsin.keys import RULES as RULES_KEY
from tocsin.operator.auth import require

API_VERSION = "0.25.0"
REPLICAS_GROUP = "alertmanager-api-replicas"
ANNOUNCE_SECONDS = 10.0
REPLICA_TTL_SECONDS = 30.0
log = structlog.get_logger("tocsin.amapi")


def add_status_routes(router: web.UrlDispatcher) -> None:
    """Registers the status and receivers endpoints."""
    add_get(router, "/api/v2/status", get_status)
    add_get(router, "/api/v2/receivers", get_receivers)


async def status_context(app: web.Application) -> AsyncIterator[None]:
    """Notes when serving started, and announces this replica to the others meanwhile."""
    app[STARTED_AT] = app[CLOCK].now()
    task = asyncio.create_task(_announce(app))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def get_status(request: web.Request) -> web.Response:
    """Version, uptime, the rules as ``config.original``, and the replicas as the cluster."""
    require(request, Role.VIEWER)
    app = request.app
    member = replica_name(app)
    try:
        members = await app[STORE].live_members(REPLICAS_GROUP, member, REPLICA_TTL_SECONDS)
    except StoreError:
        members = [member]
    tocsin = _tocsin_version()
    body = {
        "cluster": {
            "name": _peer(member)["name"],
            "status": "ready",
            "peers": [_peer(m) for m in sorted(set(members) | {member})],
        },
        "versionInfo": {
            "version": API_VERSION,
            "revision": f"tocsin-{tocsin}",
            "branch": "tocsin",
            "buildUser": "tocsin",
            "buildDate": "",
            "goVersion": f"none: Tocsin {tocsin} on Python {platform.python_version()}",
        },
        "config": {"original": await asyncio.to_thread(rules_text, app[SETTINGS].rules)},
        "uptime": app[STARTED_AT],
    }
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_UTC_Z), content_type="application/json"
    )


async def get_receivers(request: web.Request) -> web.Response:
    """The receivers alerts can show: escalation policies, and routes that name none."""
    require(request, Role.VIEWER)
    names = receiver_names(request.app[RULES_KEY].current.rules)
    return web.json_response([{"name": n} for n in names])


def receiver_names(rules: Rules) -> list[str]:
    """Every policy's name, then each route without a policy by name (or key)."""
    names = list(rules.escalation_policies)
    names += [r.name or r.key for r in walk(rules.route) if r.policy is None]
    return list(dict.fromkeys(names)) or [DEFAULT_RECEIVER]


def rules_text(path: Path) -> str:
    """The rules files as they are on disk, each after a comment naming it."""
    files = (
        sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())
        if path.is_dir()
        else [path]
    )
    parts = []
    for file in files:
        try:
            parts.append(f"# {file}\n{file.read_text(errors='replace')}")
        except OSError as exc:
            parts.append(f"# {file}: cannot be read ({exc.strerror})\n")
    return "\n".join(parts)


def replica_name(app: web.Application) -> str:
    """This replica in the cluster: ``host-pid@address:port``."""
    settings = app[SETTINGS]
    return f"{socket.gethostname()}-{os.getpid()}@{settings.host}:{settings.port}"


def _peer(member: str) -> dict[str, str]:
    name, _, address = member.rpartition("@")
    return {"name": name or member, "address": address}


def _tocsin_version() -> str:
    try:
        return version("tocsin")
    except PackageNotFoundError:
        return "unknown"


async def _announce(app: web.Application) -> None:
    member = replica_name(app)
    while True:
        try:
            await app[STORE].live_members(REPLICAS_GROUP, member, REPLICA_TTL_SECONDS)
        except StoreError as exc:
            log.debug("cannot announce this replica", error=str(exc))
            end_if_cancelled()
        await asyncio.sleep(ANNOUNCE_SECONDS)
