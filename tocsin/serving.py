"""Runs the HTTP server so that slow or abundant clients cannot shut others out.

- **Header deadline.** aiohttp arms its keep-alive timer when a connection opens and after
  each answer, and closes a connection still waiting for a complete request head when it
  fires: ``--header-timeout-seconds`` is that timer. (Bodies have their own deadline,
  ``--body-timeout-seconds``, in :mod:`ingest.body`.)
- **A cap on open connections**, below the file-descriptor limit. Each connection holds a
  descriptor; at the limit ``accept()`` fails and *nothing* is served, neither
  ``/-/healthy`` nor an authenticated sender, however short their requests. Past the cap a
  new connection closes the oldest open one: a real request takes milliseconds, so the
  oldest are the slow ones (and idle keep-alives, which their clients reopen).
- **Bounded accept failures.** At the descriptor limit Python 3.11's event loop reports
  ``EMFILE`` (Too many open files) once per queued connection and schedules a retry for
  each, and each retry does the same: tens of thousands of tracebacks a second. The
  listening socket ends an accept burst at its first such error (one report, one retry)
  and the reports are logged within a line budget.

- **Unparsable requests get a JSON answer.** aiohttp answers a request its parser
  refuses (a header line over 8190 bytes, a malformed head) itself, before any
  middleware: a plain-text 400 that echoes the offending bytes, with a traceback in the
  log. :class:`JsonErrorRequestHandler` answers a JSON 431 (a line too long) or 400
  naming ``headers``, echoing nothing, with one debug line.

Handlers are not cancelled when their client disconnects (aiohttp's default): an alert
write that started completes, so the duplicate filter and the store stay in step.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import signal
import socket
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from core.clock import SystemClock
from core.settings import Settings
from ingest.throttled_log import ThrottledLog

log = structlog.get_logger("tocsin.http")

# aiohttp's listen backlog: connections the kernel queues before the server accepts them.
BACKLOG = 128
# Descriptors kept free beyond the connection cap: one accept burst (the loop accepts up
# to BACKLOG connections before any of them is counted), the store, the logs, the
# correlator child's pipes, the status site's writes.
_RESERVE = BACKLOG + 64
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def connection_cap(settings: Settings) -> int:
    """The most connections kept open: ``--max-connections``, else what RLIMIT_NOFILE leaves."""
    if settings.max_connections > 0:
        return settings.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 65_536
    # Small limits keep a quarter for connections: a full accept burst on top of the
    # cap must still leave the process descriptors of its own (half was not enough:
    # the status site's build failed with EMFILE during a flood at 256).
    return max(16, soft - min(soft * 3 // 4, _RESERVE))


class ConnectionGuard:
    """The protocol factory of the listening sockets: past the cap, closes the oldest connection."""

    def __init__(self, server: web.Server, cap: int, refusals: ThrottledLog) -> None:
        self._server = server
        self._cap = cap
        self._refusals = refusals

    def __call__(self) -> asyncio.BaseProtocol:
        """Makes the handler of a new connection, closing the oldest open ones beyond the cap."""
        connections = self._server.connections  # in the order they opened
        excess = len(connections) + 1 - self._cap
        for handler in connections:
            if excess <= 0:
                break
            if handler.transport is None:
                continue  # already closing; its descriptor is freed on the next loop turn
            peer = handler.transport.get_extra_info("peername")
            handler.force_close()
            excess -= 1
            self._refusals.warning(
                "connection limit reached: closed the oldest connection",
                limit=self._cap,
                remote=peer[0] if isinstance(peer, tuple) else None,
            )
        return json_errors(self._server())


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, with JSON answers to the requests its parser refuses."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        """Answers a refused request head with JSON naming ``headers``; 5xx as aiohttp does."""
        if status >= 500 or not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already sent: the connection is broken")
        if isinstance(exc, LineTooLong):
            status = 431  # RFC 6585: Request Header Fields Too Large
            text = f"a line of the request head is longer than {exc.args[1]} bytes"
        else:
            text = "the request head is malformed"
        # The offending bytes are neither echoed nor logged: they may hold a credential.
        log.debug("request head refused", status=status, error=type(exc).__name__)
        response = web.json_response(
            {"status": "error", "code": status, "error": text, "field": "headers"}, status=status
        )
        response.force_close()
        return response


def json_errors(handler: asyncio.BaseProtocol) -> asyncio.BaseProtocol:
    """Makes a new connection handler of aiohttp's answer refused heads with JSON.

    aiohttp's web.Server builds its RequestHandler itself, with no hook for the class;
    the subclass adds no state (no slots), so the handler just changes class.
    """
    if type(handler) is RequestHandler:
        handler.__class__ = JsonErrorRequestHandler
    return handler


ExceptionHandler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


class ListeningSocket(socket.socket):
    """A listening socket whose ``accept`` ends an accept burst at an out-of-descriptor error.

    The event loop calls ``accept`` up to the backlog times per burst and, on EMFILE, logs
    and schedules a retry but carries on calling. The call after such an error raises
    BlockingIOError, which the loop takes as "nothing more to accept".
    """

    _out_of_descriptors = False

    @classmethod
    def taking_over(cls, sock: socket.socket) -> ListeningSocket:
        """Wraps a bound, listening socket (which is detached and must not be used again)."""
        return cls(sock.family, sock.type, sock.proto, fileno=sock.detach())

    def accept(self) -> tuple[socket.socket, Any]:
        """Accepts a connection, unless the previous call ran out of descriptors."""
        if self._out_of_descriptors:
            self._out_of_descriptors = False
            raise BlockingIOError(errno.EAGAIN, "the previous accept ran out of descriptors")
        try:
            return super().accept()
        except OSError as exc:
            self._out_of_descriptors = exc.errno in _OUT_OF_RESOURCES
            raise


def accept_error_handler(refusals: ThrottledLog) -> ExceptionHandler:
    """An event-loop exception handler that logs out-of-descriptor accept errors in a budget."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in _OUT_OF_RESOURCES:
            refusals.warning("cannot accept connections", error=os.strerror(error.errno or 0))
            return
        if isinstance(error, ValueError) and "_start_serving" in context.get("message", ""):
            # The loop's accept retry, due after the listener closed at shutdown.
            log.debug("accept retry after the listener closed")
            return
        loop.default_exception_handler(context)

    return handle


def run_server(app: web.Application, settings: Settings, sockets: Sequence[socket.socket]) -> None:
    """Serves ``app`` on the listening ``sockets`` until SIGINT or SIGTERM, then stops cleanly."""
    asyncio.run(_serve(app, settings, sockets))


async def _serve(
    app: web.Application, settings: Settings, sockets: Sequence[socket.socket]
) -> None:
    loop = asyncio.get_running_loop()
    clock = SystemClock()
    loop.set_exception_handler(accept_error_handler(ThrottledLog(log, clock)))
    # A signal ends the wait below, so the application shuts down (its cleanup contexts
    # run) before anything else is cancelled.
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.header_timeout_seconds)
    await runner.setup()
    listeners: list[asyncio.Server] = []
    try:
        assert runner.server is not None  # set up above
        guard = ConnectionGuard(runner.server, connection_cap(settings), ThrottledLog(log, clock))
        for sock in sockets:
            listening = ListeningSocket.taking_over(sock)
            listeners.append(await loop.create_server(guard, sock=listening, backlog=BACKLOG))
        await stop.wait()
    finally:
        for listener in listeners:
            listener.close()
        await runner.cleanup()
