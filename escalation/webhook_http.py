"""A lean HTTP/1.1 client for webhook sends: one POST, its answer's status and Location.

A page is one POST of a small JSON body; what delivery needs back is the answer's status
(and a redirect's ``Location``, to say where it pointed: redirects are never followed,
``escalation.redirects``). aiohttp's client spends about 470,000 CPU instructions a
request on request and response objects, header multidicts, a cookie jar, tracing hooks
and payload classes (``bench/README.md``, issue 11); this client writes the request
itself, reads the answer's head, skips its body, and keeps the connection for the next
send (HTTP/1.1 keep-alive), for a fraction of that.

- **Connections** are kept per origin (scheme, host, port) while idle for less than
  :data:`IDLE_SECONDS` (under the 5 s that common servers keep an idle connection, so
  a send rarely meets one the server is closing), at most :data:`IDLE_KEPT` of them.
  Idle time is told by the client's ``monotonic`` clock (``time.monotonic`` unless a
  test passes its own).
  A connection is kept only when the answer's body length is known (``Content-Length``,
  or a status that has no body) and neither side asked to close; otherwise it is closed
  once the answer's head is read, so nothing of an answer is ever read as the next one's.
- **TLS** (``https``) verifies the server's certificate and name against the system's
  trusted certificates (``ssl.create_default_context``), as aiohttp does.
- **Errors** are exceptions whose class name is what an attempt records (their text is
  never recorded: it may carry the URL, which is a secret): ``OSError`` and its kinds
  from connecting or TLS (``ConnectionRefusedError``, ``gaierror``,
  ``SSLCertVerificationError``), and :class:`WebhookHTTPError`'s kinds from the answer.
  A timeout is the caller's: it cancels :meth:`WebhookClient.post`, and the connection in
  use is closed. A failed send is never retried here: delivery retries with backoff under
  the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from yarl import URL

# How long an idle connection is kept for the next send.
IDLE_SECONDS = 4.0
# The most idle connections kept per origin (delivery sends a few at once per channel).
IDLE_KEPT = 16
# The longest answer head read (status line and headers); a longer one is refused.
MAX_HEAD = 64 * 1024
# The longest answer body skipped to keep its connection; past it the connection closes.
MAX_SKIPPED_BODY = 1024 * 1024
_NO_BODY = frozenset({204, 304})
_USER_AGENT = "Tocsin"


class WebhookHTTPError(Exception):
    """The receiver's answer could not be read (the class says why)."""


class ConnectionClosed(WebhookHTTPError):
    """The connection closed before a whole answer head arrived."""


class MalformedAnswer(WebhookHTTPError):
    """The answer is not HTTP/1.x, or its head is too long."""


class MalformedRequest(WebhookHTTPError):
    """A header name or value would break the request (a line break in it)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's answer: its status and its ``Location`` header, if any."""

    status: int
    location: str | None


@dataclass(frozen=True, slots=True)
class _Head:
    """An answer's head as read: status, location, and how its body is framed."""

    answer: Answer
    length: int | None  # the body's length; None: unknown (read to the close)
    close: bool  # the receiver asked to close, or the framing does not allow reuse


class _Connection(asyncio.Protocol):
    """One connection: sends a request, reads its answer's head and skips its body."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._skip = 0  # body bytes of the current answer still to skip
        self._head: _Head | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        """Writes ``request``; the future holds its answer once its body is skipped."""
        assert self._transport is not None
        self.reusable = False
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return self._waiter

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._advance()
        except WebhookHTTPError as exc:
            self._finish(exc)
            self.close()

    def _advance(self) -> None:
        """Reads the head once it is whole, then skips the body; ends the send when done."""
        if self._waiter is None:
            if self._buffer:  # bytes nobody asked for: the connection is not to be trusted
                self.close()
            return
        if self._head is None:
            head = _read_head(self._buffer)
            if head is None:
                if len(self._buffer) > MAX_HEAD:
                    raise MalformedAnswer("answer head too long")
                return
            self._head = head
            if head.close or head.length is None or head.length > MAX_SKIPPED_BODY:
                self._finish(head.answer)
                self.close()
                return
            self._skip = head.length
        skipped = min(self._skip, len(self._buffer))
        del self._buffer[:skipped]
        self._skip -= skipped
        if self._skip == 0:
            answer = self._head.answer
            self._head = None
            if self._buffer:  # more than the answer: not a connection to reuse
                self._finish(answer)
                self.close()
                return
            self.reusable = True
            self._finish(answer)

    def _finish(self, outcome: Answer | BaseException) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)

    def eof_received(self) -> bool | None:
        self.reusable = False
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self._finish(ConnectionClosed("closed before the whole answer"))

    def close(self) -> None:
        """Closes the connection (an answer in progress fails)."""
        self.reusable = False
        if self._transport is not None and not self.closed:
            self._transport.close()


def _read_head(buffer: bytearray) -> _Head | None:
    """The answer head at the start of ``buffer`` (taken out of it), or None while it is
    not whole. Informational answers (1xx) before it are dropped."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        raw = bytes(buffer[:end])
        del buffer[: end + 4]
        lines = raw.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise MalformedAnswer("not an HTTP/1.x answer")
        status = int(code)
        if 100 <= status < 200:
            continue
        return _head(status, version, lines[1:])


def _head(status: int, version: bytes, lines: list[bytes]) -> _Head:
    """The head of an answer of ``status`` with these header lines."""
    location: str | None = None
    lengths: set[bytes] = set()
    chunked = False
    close = version == b"HTTP/1.0"
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise MalformedAnswer("a header line without a colon")
        name, value = name.strip().lower(), value.strip()
        if name == b"content-length":
            lengths.add(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"connection":
            tokens = {t.strip() for t in value.lower().split(b",")}
            close = b"close" in tokens or (close and b"keep-alive" not in tokens)
        elif name == b"location":
            location = value.decode("latin-1")
    length: int | None = None
    if status in _NO_BODY:
        length = 0
    elif not chunked and len(lengths) == 1:
        (found,) = lengths
        length = int(found) if found.isdigit() else None
    # A body of unknown length (chunked, none or several lengths) is not read: closed.
    return _Head(Answer(status, location), length, close or length is None)


class WebhookClient:
    """Sends webhook POSTs over kept-alive connections (see the module docstring)."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        """``monotonic`` tells the seconds that idle connections are timed by."""
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._monotonic = monotonic
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: URL, body: bytes, headers: Mapping[str, str]) -> Answer:
        """POSTs ``body`` with ``headers`` to ``url``; returns the answer (see the module
        docstring for what it raises). The caller bounds it in time."""
        if url.scheme not in ("http", "https") or not url.host or url.port is None:
            raise MalformedRequest("not an http or https URL")
        request = _request(url, body, headers)
        origin = (url.scheme, url.host, url.port)
        connection = self._take(origin) or await self._connect(url)
        try:
            answer = await connection.send(request)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            self._keep(origin, connection)
        else:
            connection.close()
        return answer

    async def __aenter__(self) -> WebhookClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        """An idle connection to ``origin`` still open and fresh, or None."""
        idle = self._idle.get(origin)
        now = self._monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    def _keep(self, origin: tuple[str, str, int], connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= IDLE_KEPT:
            connection.close()
            return
        connection.idle_since = self._monotonic()
        idle.append(connection)

    async def _connect(self, url: URL) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if url.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        host = url.raw_host
        assert host is not None
        assert url.port is not None
        _, connection = await loop.create_connection(
            _Connection, host, url.port, ssl=tls, server_hostname=host if tls else None
        )
        return connection


def _request(url: URL, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The request's bytes: a POST of ``body`` with ``headers``, ``Host``, ``User-Agent``
    and ``Content-Length``."""
    lines = [
        f"POST {url.raw_path_qs or '/'} HTTP/1.1",
        f"Host: {url.host_port_subcomponent}",
        f"User-Agent: {_USER_AGENT}",
        f"Content-Length: {len(body)}",
    ]
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise MalformedRequest("a header with a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
