"""A real aiosmtpd server in the test's event loop, and a self-signed certificate for TLS.

The outside world for the e-mail notifier: it speaks real SMTP (STARTTLS, implicit
TLS, AUTH), records each message it accepts, and answers a chosen reply to RCPT.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support import free_port, require_binary


@dataclass
class Mailbox:
    """What the server accepted, and the reply it gives to RCPT (None: accept)."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 Message accepted"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1, its key, and a client context trusting it."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(directory: Path) -> Certificate:
    """Makes a one-day self-signed certificate with openssl (skips if it is absent)."""
    openssl = require_binary("openssl", "openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


def password_check(login: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting one login and password."""

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == login
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


@asynccontextmanager
async def smtp_server(
    mailbox: Mailbox, *, tls: ssl.SSLContext | None = None, **smtp: Any
) -> AsyncIterator[int]:
    """Serves SMTP on 127.0.0.1 (implicit TLS with ``tls``); yields the port."""
    port = free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(mailbox, hostname="127.0.0.1", **smtp), "127.0.0.1", port, ssl=tls
    )
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()
