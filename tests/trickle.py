"""A client that sends a request's head and only the start of its body, then waits."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.app_harness import RESPONDER


async def trickled_answer(server: Any, method: str, path: str, start: bytes) -> bytes:
    """What the server answers, up to its close, to ``method path`` with a responder key,
    a JSON ``Content-Length`` of 1000 and only ``start`` of the body ever sent."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n".encode()
        + f"Authorization: {RESPONDER['Authorization']}\r\n".encode()
        + b"Content-Length: 1000\r\n\r\n"
        + start
    )
    try:
        return await asyncio.wait_for(reader.read(), timeout=20)  # read to the close
    finally:
        writer.close()
