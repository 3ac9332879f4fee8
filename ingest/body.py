"""Reads a request body within a size limit and a deadline; bad bytes become 4xx, not 500s.

Tocsin decodes ``Content-Encoding`` itself (the application turns aiohttp's automatic
decompression off): aiohttp would answer an encoding it cannot decode (``br`` without
Brotli, ``zstd``) with a plain-text 400 and a traceback before any handler runs, and
would pass a list (``deflate, gzip``) on undecoded. Here:

- only ``identity``, ``gzip`` (``x-gzip``) and ``deflate``, alone or as a list, are
  taken; a list is undone last coding first, as RFC 9110 section 8.4 says they were
  applied in order; anything else is 415 naming ``Content-Encoding``
  (:func:`content_codings`, also checked for every request by the middleware);
- the body, compressed and decompressed, is held to the limit, so the limit also stops a
  decompression bomb: 413 (``PayloadTooLarge``) naming ``body``;
- it does not arrive within the deadline (a slow or stalled client): 408;
- it does not decompress: 400 naming ``Content-Encoding``;
- the connection closes before it is complete (the client left, or the connection cap
  closed it): :class:`ClientDisconnected`, a debug line.
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import StreamReader, web
from aiohttp.http_exceptions import ContentEncodingError

from core.errors import (
    ClientDisconnected,
    ItemProblem,
    MalformedInput,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMedia,
)

# The codings Tocsin decodes, and the zlib window bits that decode each.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_QUOTED = 64


def content_codings(request: web.BaseRequest) -> list[str]:
    """The codings of ``Content-Encoding`` in the order applied (identity left out).

    Raises UnsupportedMedia (415) naming ``Content-Encoding`` for a coding Tocsin does
    not decode.
    """
    header = request.headers.getall("Content-Encoding", [])
    codings = [c.strip().lower() for value in header for c in value.split(",")]
    unknown = [c for c in codings if c and c != "identity" and c not in _WBITS]
    if unknown:
        raise UnsupportedMedia(
            f"Content-Encoding {unknown[0][:_QUOTED]!r} is not supported: "
            "send identity, gzip or deflate",
            field="Content-Encoding",
        )
    return [c for c in codings if c in _WBITS]


def too_large(max_bytes: int) -> PayloadTooLarge:
    """The 413 of a body over ``max_bytes``, naming ``body``."""
    return PayloadTooLarge(f"body is larger than {max_bytes} bytes", field="body")


async def read_body(request: web.Request, max_bytes: int, deadline_seconds: float) -> bytes:
    """Returns the whole (decoded) body, or raises the InputError that says why not."""
    codings = content_codings(request)
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(
            f"Content-Length {request.content_length} is over the limit of {max_bytes} bytes",
            field="Content-Length",
        )
    stream = request.content
    try:
        if stream.is_eof():
            # The whole body came with the headers, as most do: no deadline to arm.
            body = stream.read_nowait()
        else:
            body = await _read_within(stream, max_bytes, deadline_seconds)
    except TimeoutError as exc:
        _close_after_answer(request)
        raise RequestTimeout(
            f"the body did not arrive within {deadline_seconds:g} s of the headers"
        ) from exc
    except web.RequestPayloadError as exc:
        _close_after_answer(request)
        raise MalformedInput([_payload_problem(request, exc)]) from exc
    except (ConnectionResetError, RuntimeError) as exc:
        # aiohttp raises RuntimeError("Connection closed.") when the server closed it
        # (the connection cap closes the oldest), ConnectionResetError when the client did.
        raise ClientDisconnected("the connection closed before the body arrived") from exc
    if len(body) > max_bytes:
        raise too_large(max_bytes)
    for coding in reversed(codings):
        body = _decompress(body, coding, max_bytes)
    return body


def _decompress(data: bytes, coding: str, max_bytes: int) -> bytes:
    wbits = _WBITS[coding]
    try:
        return _inflate(data, wbits, max_bytes)
    except zlib.error:
        if coding != "deflate":
            raise _not_decodable(coding) from None
    try:
        # Some senders' "deflate" is raw deflate without the zlib wrapper (as aiohttp takes).
        return _inflate(data, -zlib.MAX_WBITS, max_bytes)
    except zlib.error:
        raise _not_decodable(coding) from None


def _inflate(data: bytes, wbits: int, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    # One byte over the limit is enough to know: a bomb is never expanded further.
    out = inflater.decompress(data, max_bytes + 1)
    if len(out) > max_bytes:
        raise too_large(max_bytes)
    if not inflater.eof:
        raise zlib.error("the compressed data is truncated")
    return out


def _not_decodable(coding: str) -> MalformedInput:
    return MalformedInput(
        [ItemProblem(None, "Content-Encoding", f"the body is not valid {coding} data")]
    )


async def _read_within(stream: StreamReader, max_bytes: int, deadline_seconds: float) -> bytes:
    body = bytearray()
    async with asyncio.timeout(deadline_seconds):
        while chunk := await stream.readany():
            body += chunk
            if len(body) > max_bytes:
                break  # the caller refuses it; reading on would only fill memory
    return bytes(body)


def _payload_problem(request: web.Request, error: web.RequestPayloadError) -> ItemProblem:
    encoding = request.headers.get("Content-Encoding", "")
    if isinstance(error.__cause__, ContentEncodingError):
        return ItemProblem(
            None, "Content-Encoding", f"the body is not valid {encoding or 'compressed'} data"
        )
    return ItemProblem(None, "", f"the body could not be read: {error}")


def _close_after_answer(request: web.Request) -> None:
    # The rest of the body is unusable (undecodable, or trickling in): answer and close,
    # instead of letting aiohttp linger to read and discard it. Closing first makes the
    # connection ignore further bytes, so none are fed after the end.
    request.protocol.close()
    request.content.feed_eof()
