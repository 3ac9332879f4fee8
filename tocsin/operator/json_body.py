"""Reading an operator API request's JSON body: bounded, typed, and refused by name."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from core.errors import FieldProblem, InvalidFields, PayloadTooLarge, UnsupportedMedia

# Read in pieces, so that an oversized body is refused before it is all in memory.
_CHUNK = 16 * 1024


async def read_json_body(request: web.Request, limit: int, what: str) -> Any:
    """Returns the decoded JSON body, None when it is empty.

    A body over ``limit`` bytes is a 413 naming ``body`` (``what`` says whose, e.g. "a
    problem body"), read no further; a body that is not ``application/json`` a 415
    naming ``Content-Type``; one that is not JSON a 400 naming ``body``.
    """
    too_large = PayloadTooLarge(f"{what} is at most {limit} bytes", field="body")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)
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
