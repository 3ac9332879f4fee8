"""The webhook client against a real local server that answers as each case scripts it.

The server reads each request whole (head and ``Content-Length`` body), records it and
the connection it came on, then writes the case's answer bytes (and closes if told).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from yarl import URL

from escalation.webhook_http import (
    Answer,
    ConnectionClosed,
    MalformedAnswer,
    MalformedRequest,
    WebhookClient,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request as the webhook client sends it: its head and its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


@dataclass
class Script:
    """A server that answers each request with the next of ``answers`` (then OK)."""

    answers: list[bytes] = field(default_factory=list)
    close_after: set[int] = field(default_factory=set)  # request numbers it closes after
    requests: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # conn, head, body
    connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # a connection it closed

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head, body = await read_request(reader)
                self.requests.append((number, head, body))
                writer.write(self.answers.pop(0) if self.answers else OK)
                await writer.drain()
                if len(self.requests) in self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            await writer.wait_closed()
            self.closed.set()


@pytest.fixture
async def served() -> AsyncIterator[tuple[Script, URL]]:
    script = Script()
    server = await asyncio.start_server(script.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield script, URL(f"http://127.0.0.1:{port}/hook?x=1")
        server.close()


async def post(client: WebhookClient, url: URL, body: bytes = b'{"a":1}') -> Answer:
    async with asyncio.timeout(5):
        return await client.post(url, body, {"content-type": "application/json", "webhook-id": "k"})


async def test_sends_the_post_and_keeps_the_connection_for_the_next(
    served: tuple[Script, URL],
) -> None:
    script, url = served
    async with WebhookClient() as client:
        assert await post(client, url) == Answer(200, None)
        assert await post(client, url, b"{}") == Answer(200, None)
    (first, head, body), (second, _, again) = script.requests
    assert (first, second) == (1, 1)  # one connection for both
    assert head.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert f"Host: {url.host}:{url.port}\r\n".encode() in head
    assert b"webhook-id: k\r\n" in head
    assert (body, again) == (b'{"a":1}', b"{}")


# Each case: an answer after which the connection must not be used again.
NOT_KEPT = [
    # The receiver asks to close.
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    # A chunked body: not read, so the connection closes.
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    # No length: the body runs to the close.
    b"HTTP/1.0 200 OK\r\n\r\nbody",
    # Bytes after the answer: nothing of them may be read as the next answer.
    OK + b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
]


@pytest.mark.parametrize("answer", NOT_KEPT)
async def test_an_answer_that_cannot_be_framed_closes_its_connection(
    served: tuple[Script, URL], answer: bytes
) -> None:
    script, url = served
    script.answers = [answer]
    async with WebhookClient() as client:
        assert (await post(client, url)).status == 200
        assert await post(client, url) == Answer(200, None)
    assert [conn for conn, _, _ in script.requests] == [1, 2]


async def test_a_redirect_gives_its_location_and_informational_answers_are_skipped(
    served: tuple[Script, URL],
) -> None:
    script, url = served
    script.answers = [
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
        b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/x\r\nContent-Length: 0\r\n\r\n"
    ]
    async with WebhookClient() as client:
        assert await post(client, url) == Answer(302, "https://elsewhere.example/x")
        assert (await post(client, url)).status == 200
    assert [conn for conn, _, _ in script.requests] == [1, 1]


async def test_a_connection_the_receiver_closed_meanwhile_is_not_used(
    served: tuple[Script, URL],
) -> None:
    script, url = served
    script.close_after = {1}
    async with WebhookClient() as client:
        assert (await post(client, url)).status == 200
        await script.closed.wait()
        for _ in range(3):  # loop turns for the client to read the end of the connection
            await asyncio.sleep(0)
        assert (await post(client, url)).status == 200
    assert [conn for conn, _, _ in script.requests] == [1, 2]


# Each case: an answer the client refuses, and the error it raises.
REFUSED = [
    (b"SMTP ready\r\n\r\n", MalformedAnswer),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", MalformedAnswer),
    (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000, MalformedAnswer),  # a head past the limit
    (b"HTTP/1.1 200 OK\r\nContent-Le", ConnectionClosed),  # closed mid-head
]


@pytest.mark.parametrize(("answer", "error"), REFUSED)
async def test_an_answer_that_is_not_http_fails_the_send(
    served: tuple[Script, URL], answer: bytes, error: type[Exception]
) -> None:
    script, url = served
    script.answers = [answer]
    script.close_after = {1}
    async with WebhookClient() as client:
        with pytest.raises(error):
            await post(client, url)
        assert (await post(client, url)).status == 200  # on a new connection


async def test_a_header_with_a_line_break_is_never_sent(served: tuple[Script, URL]) -> None:
    script, url = served
    async with WebhookClient() as client:
        with pytest.raises(MalformedRequest):
            await client.post(url, b"{}", {"authorization": "Bearer x\r\nX-Evil: 1"})
        with pytest.raises(MalformedRequest):
            await client.post(URL("ftp://127.0.0.1/x"), b"{}", {})
    assert script.requests == []


async def test_a_refused_connection_is_an_os_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    async with WebhookClient() as client:
        with pytest.raises(OSError):
            await post(client, URL(f"http://127.0.0.1:{port}/"))
