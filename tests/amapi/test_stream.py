"""Streamed JSON arrays stay valid JSON however the work is sliced."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from tocsin.amapi.stream import RUN, Slicer, stream_groups, stream_members, stream_runs
from tocsin.middleware import errors_middleware

Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


def member(n: int) -> bytes | None:
    """Every third one is left out, as a filter leaves alerts out."""
    return None if n % 3 == 0 else orjson.dumps({"n": n})


@pytest.mark.parametrize("seconds", [0.0, 10.0])  # a pause after every run; none
@pytest.mark.parametrize("count", [0, 1, 3, 64, 65, 1000])
async def test_runs_some_empty(aiohttp_client: Client, seconds: float, count: int) -> None:
    # Runs of one member each, as a filter kept them: every third run is empty, the first too.
    runs = [[m] if (m := member(n)) else [] for n in range(count)]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_runs(request, runs, Slicer(seconds))

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    body = await (await client.get("/")).read()
    assert orjson.loads(body) == [{"n": n} for n in range(count) if n % 3]


@pytest.mark.parametrize("seconds", [0.0, 10.0])  # a pause after every run; none
@pytest.mark.parametrize("count", [0, 1, RUN, RUN + 1, 3 * RUN - 1])
async def test_every_member(aiohttp_client: Client, seconds: float, count: int) -> None:
    members = [orjson.dumps({"n": n}) for n in range(count)]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_members(request, members, Slicer(seconds))

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    body = await (await client.get("/")).read()
    assert orjson.loads(body) == [{"n": n} for n in range(count)]


@pytest.mark.parametrize("seconds", [0.0, 10.0])
async def test_groups(aiohttp_client: Client, seconds: float) -> None:
    # (group name, its members): one empty after filtering, one large, one small.
    groups = [("none", [0, 3, 6]), ("big", list(range(500))), ("small", [1, 2])]

    def members(group: tuple[str, list[int]]) -> Iterable[bytes | None]:
        return (member(n) for n in group[1])

    def head(group: tuple[str, list[int]]) -> bytes:
        return orjson.dumps({"name": group[0]})[:-1]

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_groups(request, groups, head, members, Slicer(seconds))

    app = web.Application()
    app.router.add_get("/", handler)
    client = await aiohttp_client(app)
    body = await (await client.get("/")).read()
    assert orjson.loads(body) == [
        {"name": name, "alerts": [{"n": n} for n in numbers if n % 3]}
        for name, numbers in groups[1:]
    ]


@pytest.mark.parametrize("grouped", [False, True])
async def test_a_client_that_leaves_mid_answer_ends_it_quietly(grouped: bool) -> None:
    # 32 MB: far more than the socket buffers hold, so the writes wait for the reader.
    members = [b'"' + b"x" * 4094 + b'"'] * 8192
    ended: asyncio.Future[web.StreamResponse] = asyncio.get_running_loop().create_future()

    async def handler(request: web.Request) -> web.StreamResponse:
        if grouped:
            groups = [members[:4096], members[4096:]]
            answer = stream_groups(request, groups, lambda _: b'{"g":1', iter, Slicer(0.0))
        else:
            answer = stream_members(request, members, Slicer(0.0))
        try:
            response = await answer
        except BaseException as exc:
            ended.set_exception(exc)
            raise
        ended.set_result(response)
        return response

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/", handler)
    # Served as `tocsin serve` serves (aiohttp's test server cancels the handler instead).
    runner = web.AppRunner(app)
    await runner.setup()
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    await web.SockSite(runner, listening).start()
    try:
        with capture_logs() as logs:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readexactly(1000)).startswith(b"HTTP/1.1 200")
            # A reset, as a browser tab closed or a client killed sends.
            writer.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            writer.close()
            await asyncio.wait_for(ended, timeout=30)
    finally:
        await runner.cleanup()

    assert [e["event"] for e in logs if e["log_level"] != "debug"] == []
    assert "client left mid-answer" in [e["event"] for e in logs]
