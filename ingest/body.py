"""Reads a request body within a size limit and a deadline; bad bytes become 4xx, not 500s.

aiohttp decompresses ``Content-Encoding: gzip`` and ``deflate`` bodies as they are read
and counts the decompressed size, so the limit also stops a decompression bomb. What can
go wrong while reading is translated here, at the boundary:

- the body is larger than the limit: 413 (``PayloadTooLarge``);
- it does not arrive within the deadline (a slow or stalled client): 408;
- it does not decompress: 400 naming ``Content-Encoding``;
- the connection closes before it is complete (the client left, or the connection cap
  closed it): :class:`ClientDisconnected`, a debug line.
"""

from __future__ import annotations

import asyncio

from aiohttp import StreamReader, web
from aiohttp.http_exceptions import ContentEncodingError

from core.errors import (
    ClientDisconnected,
    ItemProblem,
    MalformedInput,
    PayloadTooLarge,
    RequestTimeout,
)


async def read_body(request: web.Request, max_bytes: int, deadline_seconds: float) -> bytes:
    """Returns the whole (decompressed) body, or raises the InputError that says why not."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"body is larger than {max_bytes} bytes")
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
        raise PayloadTooLarge(f"body is larger than {max_bytes} bytes")
    return body


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
