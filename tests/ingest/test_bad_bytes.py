"""Item 19: bad bytes from a client are 4xx answers or a quiet line, never a 500.

Each case is sent as raw bytes over a socket, as an attacker's tool would: aiohttp's
client refuses to build some of them. A client that disconnects mid-body is tested against
a real ``tocsin serve`` (tests/ingest/test_slow_clients.py): aiohttp's test server cancels
handlers on disconnect, which production does not.
"""

from __future__ import annotations

import asyncio
import base64
import zlib
from typing import Any

import orjson
import pytest

from tests.app_harness import HOOK_AUTH, Ingest

BODY = orjson.dumps({"summary": "s", "labels": {"alertname": "A"}})


async def raw_exchange(ingest: Ingest, request: bytes) -> tuple[int, Any]:
    """Sends ``request`` as is and returns the status and JSON body of the answer."""
    server = ingest.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[
            1
        ]
    )
    body = orjson.loads(await reader.readexactly(length))
    writer.close()
    return status, body


def post(headers: dict[str, bytes], body: bytes) -> bytes:
    lines = [b"POST /ingest/webhook HTTP/1.1", b"Host: tocsin", b"Content-Type: application/json"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


HOOK = {"Authorization": HOOK_AUTH["Authorization"].encode()}


@pytest.mark.parametrize(
    "authorization",
    [
        # UTF-8 and an invalid byte after Bearer: not ASCII, so no credential.
        b"Bearer hook-secr\xc3\xa9t\xff",
        # Basic with bytes that are not base64 at all.
        b"Basic \xc3\xa9\xc3\xa9\xc3\xa9",
        # Basic with base64 of the wrong length.
        b"Basic cHJvbWV0aGV1cw",
        # Basic whose decoded credential is not UTF-8.
        b"Basic " + base64.b64encode(b"\xff\xfe:\xff"),
    ],
)
async def test_undecodable_credentials_are_401(ingest: Ingest, authorization: bytes) -> None:
    status, body = await raw_exchange(ingest, post({"Authorization": authorization}, BODY))
    assert status == 401, body


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
async def test_corrupt_compressed_body_is_400_naming_the_encoding(
    ingest: Ingest, encoding: bytes
) -> None:
    status, body = await raw_exchange(
        ingest, post({**HOOK, "Content-Encoding": encoding}, b"this is not compressed at all")
    )
    assert status == 400
    [problem] = body["problems"]
    assert problem["field"] == "Content-Encoding"
    assert encoding.decode() in problem["reason"]
    assert await ingest.stored() == []


async def test_valid_gzip_body_is_stored(ingest: Ingest) -> None:
    compressed = zlib.compress(BODY, wbits=31)  # a gzip stream
    status, _ = await raw_exchange(ingest, post({**HOOK, "Content-Encoding": b"gzip"}, compressed))
    assert status == 200
    assert len(await ingest.stored()) == 1


@pytest.mark.parametrize(
    "request_line", [b"GET /api/v1/incidents HTTP/1.1", b"POST /-/reload HTTP/1.1"]
)
async def test_undecodable_operator_key_is_401(ingest: Ingest, request_line: bytes) -> None:
    # The operator API shares the constant-time comparison that failed on these bytes.
    request = request_line + b"\r\nHost: t\r\nAuthorization: Bearer \xc3\xa9\xff\r\n"
    status, _ = await raw_exchange(ingest, request + b"Content-Length: 0\r\n\r\n")
    assert status == 401
