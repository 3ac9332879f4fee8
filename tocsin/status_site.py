"""The public status site in ``tocsin serve``: built on change, served at ``/status/``.

:class:`SiteBuilder` listens to the status page's writer (``app[STATUS_LISTENERS]``, given to it,
told after each step that changed something public and when the page's local day
changes, see ``tocsin.statuspage_task``). A change only wakes the builder's task;
changes that arrive while it waits out the debounce or builds are folded into the
next build, so a burst of incident events costs one or two builds. A build reads a
snapshot, renders reusing unchanged pages and writes only changed files, atomically.

The static route serves files of the output directory only: a path that leaves it,
a dot file (the manifest, temporary files) or a missing file is a 404. Every answer
carries a strict Content-Security-Policy (no script at all, styles inline or the site's own
style.css only).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path, PurePosixPath

import structlog
from aiohttp import web

from core.cancellation import end_if_cancelled
from core.clock import Clock
from core.store import Store
from rules.model import Rules
from statuspage.live import LiveSnapshot
from statuspage.site import RenderedSite, WriteResult, render_site, write_site
from statuspage.writer import Changes
from tocsin.keys import CLOCK, RULES, STORE
from tocsin.status_listeners import Listener

log = structlog.get_logger("tocsin.statuspage")

CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Short: the page must show a new incident within a minute, even behind a cache.
    "Cache-Control": "public, max-age=30",
}
# The JSON API is read from other origins (widgets, dashboards), as Statuspage's is:
# public data, GET only, no credentials.
API_PREFIX = "api/v2/"
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET"}
DEBOUNCE_SECONDS = 0.5
ENV_DIR = "TOCSIN_STATUS_DIR"


class SiteBuilder:
    """Rebuilds the site into ``out`` when woken; folds wake-ups that arrive meanwhile."""

    def __init__(
        self,
        store_of: Callable[[], Store],
        rules: Callable[[], Rules],
        clock: Clock,
        out: Path,
        *,
        debounce_seconds: float = DEBOUNCE_SECONDS,
    ) -> None:
        self._store_of = store_of
        self._rules = rules
        self._clock = clock
        self.out = out
        self._debounce = debounce_seconds
        self._wake = asyncio.Event()
        self._previous: RenderedSite | None = None
        # What the output directory holds, when known (None: compare with the disk).
        self._written: RenderedSite | None = None
        self.live = LiveSnapshot()
        # What changed since the last build (everything until the first).
        self._pending = Changes(everything=True)
        # One build at a time: the task's and a direct call's must not interleave.
        self._lock = asyncio.Lock()
        self.requested = 0
        self.builds = 0

    async def changed(self, changes: Changes) -> None:
        """A listener of the writer: asks for a build (returns at once)."""
        self.requested += 1
        self._pending = self._pending | changes
        self._wake.set()

    async def build(self) -> WriteResult:
        """Refreshes the snapshot with what changed since the last build (re-reading only
        that, ``statuspage.live``) and writes the files that changed."""
        async with self._lock:
            now = self._clock.now()
            changes, self._pending = self._pending, Changes()
            try:
                snapshot = await self.live.refresh(self._store_of(), self._rules(), now, changes)
            except BaseException:
                self._pending = self._pending | Changes(everything=True)
                raise
            site = await asyncio.to_thread(render_site, snapshot, self._previous)
            self._previous = site
            written, self._written = self._written, None
            # Only the files this rendering made can differ from what the last write put
            # there (site.fresh); after a failed write the disk is compared instead.
            result = await asyncio.to_thread(write_site, self.out, site, written, site.fresh)
            self._written = site
            self.builds += 1
            return result

    async def run(self) -> None:
        """Builds each time it is woken, until cancelled; a failed build is logged."""
        while True:
            await self._wake.wait()
            if self._debounce:
                await asyncio.sleep(self._debounce)
            self._wake.clear()
            try:
                result = await self.build()
                log.info("status site built", written=len(result.written))
            except OSError as exc:  # out of descriptors or disk: say so, without a traceback
                log.error("status site build failed", error=exc.strerror or str(exc))
            except Exception:  # a failed build must not stop later ones
                log.exception("status site build failed")
            end_if_cancelled()


SITE_BUILDER = web.AppKey("status_site_builder", SiteBuilder)


# Private directories site_directory made: removed when the application serving them stops.
_PRIVATE: set[Path] = set()


def site_directory(store_url: str, env: Mapping[str, str] | None = None) -> Path:
    """Where serve writes the site: $TOCSIN_STATUS_DIR, else beside a SQLite store, else
    (a Redis store has no directory of its own) ``site`` in a fresh private directory
    under the temporary directory, made here (``mkdtemp``: mode 0700, a name no one can
    take first) and removed when the application stops. A predictable name there would
    let another local user make it first, with links out of it or files of theirs in it."""
    if env and env.get(ENV_DIR):
        return Path(env[ENV_DIR])
    if store_url.startswith("sqlite://"):
        return Path(store_url.removeprefix("sqlite://")).parent / "status-site"
    private = Path(tempfile.mkdtemp(prefix="tocsin-status-"))
    _PRIVATE.add(private)
    return private / "site"


def add_status_site(
    app: web.Application,
    out: Path,
    listeners: list[Listener],
    *,
    debounce_seconds: float = DEBOUNCE_SECONDS,
) -> None:
    """Serves ``out`` at /status/ and rebuilds it when the writer reports a change
    (``listeners``: the status page task's, ``app[STATUS_LISTENERS]``)."""
    builder = SiteBuilder(
        lambda: app[STORE],
        lambda: app[RULES].current.rules,
        app[CLOCK],
        out,
        debounce_seconds=debounce_seconds,
    )
    app[SITE_BUILDER] = builder
    listeners.append(builder.changed)
    app.router.add_get("/status", _redirect)
    app.router.add_get("/status/history", _redirect_history)
    app.router.add_get("/status/", _serve(out))
    app.router.add_get("/status/{tail:.*}", _serve(out))
    app.cleanup_ctx.append(_builder_context)


async def _builder_context(app: web.Application) -> AsyncIterator[None]:
    builder = app[SITE_BUILDER]
    # One build at start, so that /status/ answers even on a replica whose writer does
    # not hold the lease (its writer's steps report nothing).
    await builder.changed(Changes(everything=True))
    task = asyncio.create_task(builder.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    private = builder.out.parent
    if private in _PRIVATE:
        _PRIVATE.discard(private)
        await asyncio.to_thread(shutil.rmtree, private, True)


async def _redirect(request: web.Request) -> web.StreamResponse:
    # Relative and temporary: behind a proxy that serves Tocsin under a prefix
    # (/tocsin/status), "/status/" would leave the prefix, and a permanent redirect
    # would be cached by browsers for good.
    raise web.HTTPFound("status/", headers=SECURITY_HEADERS)


async def _redirect_history(request: web.Request) -> web.StreamResponse:
    # The month pages live in history/; without its slash a reader would get a 404.
    raise web.HTTPFound("history/", headers=SECURITY_HEADERS)


def resolve(root: Path, tail: str) -> Path | None:
    """The file a request path names inside ``root``, or None (a 404) if it names none."""
    pure = PurePosixPath(tail)
    if pure.is_absolute() or any(part in ("..", "") or part.startswith(".") for part in pure.parts):
        return None
    if "\\" in tail or "\x00" in tail:
        return None
    path = root.joinpath(*pure.parts) if pure.parts else root
    if tail == "" or tail.endswith("/"):
        path = path / "index.html"
    try:
        real = path.resolve(strict=True)
        base = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    if real.suffix not in CONTENT_TYPES:
        return None
    return real


def _serve(root: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = resolve(root, request.match_info.get("tail", ""))
        if path is None:
            # Not cached: a page that appears at the next build must not stay a 404.
            missing = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
            return web.Response(status=404, text="not found", headers=missing)
        headers = dict(SECURITY_HEADERS)
        headers["Content-Type"] = CONTENT_TYPES[path.suffix]
        if request.match_info.get("tail", "").startswith(API_PREFIX):
            headers.update(CORS_HEADERS)
        if path.suffix != ".png" and "gzip" in request.headers.get("Accept-Encoding", ""):
            # Text compresses about tenfold; the files are small, so it is done per answer.
            data = await asyncio.to_thread(path.read_bytes)
            headers["Vary"] = "Accept-Encoding"
            response = web.Response(body=data, headers=headers)
            response.enable_compression(web.ContentCoding.gzip)
            return response
        return web.FileResponse(path, headers=headers)

    return handler
