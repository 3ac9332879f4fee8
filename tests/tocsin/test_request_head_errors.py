"""Issue 9 items 4 and 9 at the HTTP edge, through a real ``tocsin serve`` process.

aiohttp answers a request head its parser refuses before any middleware: a header line
over 8190 bytes got a plain-text 400 echoing the header back, with a traceback in the
log; ``Content-Encoding: br`` got a plain-text 400 and a traceback too. Both are JSON
now, echo nothing and log no traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.server_process import HOOK_AUTH, TocsinProcess, write_test_rules

SECRET = "s3cr3t-" + "x" * 10_000


@pytest.fixture
async def tocsin(tmp_path: Path) -> AsyncIterator[TocsinProcess]:
    process = TocsinProcess(
        rules=write_test_rules(tmp_path / "rules"),
        store=f"sqlite://{tmp_path / 'tocsin.db'}",
        work_dir=tmp_path / "tocsin",
        extra_args=("--no-correlate",),
    )
    await process.start()
    yield process
    process.kill()


async def raw_request(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Sends one request as raw bytes; returns the status and the body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), payload


async def test_a_header_over_the_limit_is_json_without_echo_or_traceback(
    tocsin: TocsinProcess,
) -> None:
    head = f"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Secret: {SECRET}\r\nConnection: close\r\n\r\n"
    status, payload = await raw_request(tocsin.port, head)
    assert status in (400, 431)
    answer = json.loads(payload)
    assert answer["field"] == "headers"
    assert b"s3cr3t" not in payload
    log = tocsin.log_path.read_text()
    assert "Traceback" not in log
    assert "s3cr3t" not in log


async def test_a_brotli_body_is_a_json_415_without_traceback(tocsin: TocsinProcess) -> None:
    body = b"\x8b\x02\x80{}\x03"
    auth = HOOK_AUTH["Authorization"]
    head = (
        "POST /ingest/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {auth}\r\nContent-Encoding: br\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(tocsin.port, head, body)
    assert status == 415
    assert json.loads(payload)["field"] == "Content-Encoding"
    assert "Traceback" not in tocsin.log_path.read_text()
