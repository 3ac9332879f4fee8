"""``tocsin receiver``: verifies Standard Webhooks signatures and prints what arrives."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aiohttp.test_utils import TestClient
from standardwebhooks import Webhook

from tocsin.receiver import create_receiver_app, run_receiver

SECRET = "whsec_" + base64.b64encode(b"receiver-test-secret-of-32-bytes").decode()
PAGE = {
    "type": "incident.page",
    "incident": {"id": "i1", "title": "Disk full\x1b[2J", "state": "triggered", "priority": "P2"},
    "page": {"level": 1, "person": "ana", "channel": "incident-bot"},
}
Client = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]


def signed(body: str, secret: str = SECRET, msg_id: str = "i1:1:0:0:ana:hook") -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }


async def test_a_signed_page_is_verified_and_printed_safely(aiohttp_client: Client) -> None:
    out = io.StringIO()
    client = await aiohttp_client(create_receiver_app(SECRET, out))
    body = orjson.dumps(PAGE).decode()

    response = await client.post("/incident-bot", data=body, headers=signed(body))

    assert response.status == 204
    printed = out.getvalue()
    assert "--- POST /incident-bot  webhook-id=i1:1:0:0:ana:hook  signature verified" in printed
    assert "incident.page: [P2] Disk full\ufffd[2J (triggered) -> level 1 ana" in printed
    assert "\x1b" not in printed  # a title cannot drive the terminal


async def test_a_forged_or_unsigned_request_is_refused(aiohttp_client: Client) -> None:
    out = io.StringIO()
    client = await aiohttp_client(create_receiver_app(SECRET, out))
    body = orjson.dumps(PAGE).decode()
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()

    forged = await client.post("/hook", data=body, headers=signed(body, other))
    unsigned = await client.post("/hook", data=body)

    assert (forged.status, unsigned.status) == (401, 401)
    assert out.getvalue().count("REJECTED") == 2


async def test_without_a_secret_everything_is_printed_unchecked(aiohttp_client: Client) -> None:
    out = io.StringIO()
    client = await aiohttp_client(create_receiver_app(None, out))

    response = await client.post("/apprise", data=b"not json")

    assert response.status == 204
    assert "signature not checked" in out.getvalue()
    assert "not json" in out.getvalue()


def test_an_unusable_secret_file_is_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("not-a-secret")
    ran: list[object] = []

    code = run_receiver("127.0.0.1", 0, tmp_path / "secret", run=lambda *a, **k: ran.append(a))
    missing = run_receiver("127.0.0.1", 0, tmp_path / "absent", run=lambda *a, **k: ran.append(a))

    assert (code, missing, ran) == (2, 2, [])


def test_a_port_in_use_is_one_line_and_exit_code_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code = run_receiver("127.0.0.1", port, None)

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tocsin receiver: cannot listen on 127.0.0.1:{port}: ")
    assert "Traceback" not in err
