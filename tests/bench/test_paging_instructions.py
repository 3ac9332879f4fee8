"""The paging instructions bench's passes leave no connection open behind them.

The defect: its notifiers' context made its own webhook client (the context's default)
and nobody closed it, so the kept-alive connections to the receiver stayed open after
the passes, until the process ended. Here the passes run in-process on SQLite against a
real local receiver that counts the connections it sees opened and closed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.paging_config import tocsin_rules
from bench.paging_instructions import _fill, _page
from tests.escalation.test_webhook_http import read_request

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Receiver:
    """Answers every request 200 on a kept-alive connection; counts connections."""

    def __init__(self) -> None:
        self.opened = 0
        self.requests = 0
        self.open = 0
        self.all_closed = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        self.open += 1
        self.all_closed.clear()
        try:
            while True:
                await read_request(reader)
                self.requests += 1
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()
            self.open -= 1
            if self.open == 0:
                self.all_closed.set()


async def test_the_passes_close_the_webhook_connections_they_opened(tmp_path: Path) -> None:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    (tmp_path / "rules.yml").write_text(tocsin_rules(f"http://127.0.0.1:{port}", 15))
    where = str(tmp_path / "bench.db")
    async with server:
        await _fill(where, tmp_path, 3)
        handled = await _page(where, tmp_path)
        assert handled["delivery"] == 3
        assert receiver.requests == 3
        assert receiver.opened >= 1
        async with asyncio.timeout(5):  # a bound for the failure only: closed at once
            await receiver.all_closed.wait()
