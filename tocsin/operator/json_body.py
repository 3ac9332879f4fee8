"""Reading an operator API request's body: bounded in size and time, typed, and refused
by name."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from core.errors import (
    FieldProblem,
    InvalidFields,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMedia,
)
from tocsin.keys import SETTINGS

# Read in pieces, so that an oversized body is refused before it is all in memory.
_CHUNK = 16 * 1024
# The most bytes one character of a JSON string takes: one outside the BMP written as two
# escapes (\uD83D\uDE00). And room for a body's names, punctuation and spacing.
_ESCAPED_CHARACTER = 12
_FRAME = 4 * 1024


def body_limit(characters: int) -> int:
    """The byte cap of a body whose text fields hold at most ``characters`` in all.

    Every character may be escaped in the worst way, so no body within the fields'
    own limits is refused for its bytes; rounded up to whole KiB.
    """
    size = characters * _ESCAPED_CHARACTER + _FRAME
    return -(-size // 1024) * 1024


async def read_bounded(request: web.Request, limit: int, too_large: PayloadTooLarge) -> bytes:
    """The raw body: ``too_large`` past ``limit`` bytes (read no further), and a 408 when
    it has not all arrived within ``body_timeout_seconds`` of the headers.

    Without the deadline a client holding a key could keep a request open for ever by
    trickling its body or never sending it (the ingest endpoints answer the same way).
    After a 408 the connection closes: the rest of the body is unusable.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    deadline = request.app[SETTINGS].body_timeout_seconds
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError as exc:
        # Closing first makes the connection ignore further bytes, so none are fed after
        # the end; then aiohttp answers and does not linger to read the rest.
        request.protocol.close()
        request.content.feed_eof()
        raise RequestTimeout(
            f"the body did not arrive within {deadline:g} s of the headers"
        ) from exc
    return b"".join(chunks)


async def read_json_body(request: web.Request, limit: int, what: str) -> Any:
    """Returns the decoded JSON body, None when it is empty.

    A body over ``limit`` bytes is a 413 naming ``body`` (``what`` says whose, e.g. "a
    problem body"), read no further; a body that is not ``application/json`` a 415
    naming ``Content-Type``; one that is not JSON a 400 naming ``body``; one that does
    not arrive in time a 408 (``read_bounded``).
    """
    too_large = PayloadTooLarge(f"{what} is at most {limit} bytes", field="body")
    raw = await read_bounded(request, limit, too_large)
    if not raw.strip():
        return None
    if request.content_type != "application/json":
        raise UnsupportedMedia(
            f"Content-Type must be application/json, not {request.content_type!r}",
            field="Content-Type",
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFields([FieldProblem("body", f"is not valid JSON: {exc}")]) from exc
