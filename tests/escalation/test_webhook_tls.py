"""The webhook client verifies an https receiver's certificate and name before it sends.

Certificates are made here with the ``openssl`` binary: a CA, a certificate it signs for
127.0.0.1, one it signs for another name, and a self-signed one for 127.0.0.1. The
receiver is a real local TLS server (``Script`` of ``test_webhook_http``), which records
a request only once the handshake is done and the request read, so a refused
certificate shows as no request. A CA is trusted the way OpenSSL lets an operator trust
one: ``SSL_CERT_FILE`` names the bundle that ``ssl.create_default_context`` loads.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from yarl import URL

from core.clock import ManualClock
from escalation.webhook import WebhookNotifier
from escalation.webhook_http import Answer, WebhookClient
from rules.channels import Channel, ChannelKind, WebhookConfig
from rules.credentials import Secret
from tests.escalation.test_webhook_http import Script, post

CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Tocsin test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[localhost]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1
extendedKeyUsage = serverAuth
[elsewhere]
basicConstraints = CA:FALSE
subjectAltName = DNS:other.example
extendedKeyUsage = serverAuth
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ca.pem, and a certificate and key per name of :data:`CASES`."""
    home = tmp_path_factory.mktemp("pki")
    (home / "openssl.cnf").write_text(CONFIG)

    def make(name: str, extensions: str, *signer: str) -> None:
        key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        out = ("-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2")
        req = ("openssl", "req", "-x509", "-config", "openssl.cnf", "-extensions", extensions)
        subprocess.run(
            [*req, *key, *out, "-subj", f"/CN={name}", *signer],
            cwd=home,
            check=True,
            capture_output=True,
        )

    make("ca", "ca")
    signed_by_ca = ("-CA", "ca.pem", "-CAkey", "ca.key")
    make("signed", "localhost", *signed_by_ca)
    make("elsewhere", "elsewhere", *signed_by_ca)
    make("self_signed", "localhost")
    return home


# Starts a TLS receiver presenting a certificate by name; gives its script and URL.
Start = Callable[[str], Awaitable[tuple[Script, URL]]]


@pytest.fixture
async def tls_server(pki: Path) -> AsyncIterator[Start]:
    """Starts TLS receivers (see :data:`Start`); closes them after the test."""
    servers: list[asyncio.Server] = []

    async def start(name: str) -> tuple[Script, URL]:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki / f"{name}.pem", pki / f"{name}.key")
        script = Script()
        server = await asyncio.start_server(script.serve, "127.0.0.1", 0, ssl=context)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return script, URL(f"https://127.0.0.1:{port}/hook")

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


# Each case: the certificate the receiver shows, whether the test CA is trusted, and
# whether the POST is sent.
CASES = [
    # Self-signed: nobody vouches for it.
    ("self_signed", False, False),
    # Signed by a CA the system does not trust.
    ("signed", False, False),
    # Signed by the trusted CA, but for another name than the URL's host.
    ("elsewhere", True, False),
    # Signed by the trusted CA, for the URL's host: sent.
    ("signed", True, True),
]


@pytest.mark.parametrize(("certificate", "trusted", "sent"), CASES)
async def test_only_a_certificate_of_a_trusted_ca_for_the_host_is_sent_to(
    pki: Path,
    tls_server: Start,
    monkeypatch: pytest.MonkeyPatch,
    certificate: str,
    trusted: bool,
    sent: bool,
) -> None:
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(pki / "ca.pem"))
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    script, url = await tls_server(certificate)
    async with WebhookClient() as client:
        if sent:
            assert await post(client, url) == Answer(200, None)
        else:
            with pytest.raises(ssl.SSLCertVerificationError):
                await post(client, url)
    assert len(script.requests) == (1 if sent else 0)


async def test_a_refused_certificate_is_an_attempt_that_sent_nothing(
    tls_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    script, url = await tls_server("self_signed")
    config = WebhookConfig(Secret(str(url), "env:HOOK"), None, timedelta(seconds=5))
    channel = Channel("hook", ChannelKind.WEBHOOK, config)
    entry = {
        "key": "inc-0001:1:0:0:ann:hook",
        "incident": "inc-0001",
        "title": "High latency",
        "state": "triggered",
        "priority": "P2",
        "service": "checkout",
        "level": 0,
        "repeat": 0,
        "person": "ann",
        "address": "ann@example.org",
        "channel": "hook",
    }
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    async with WebhookClient() as client:
        attempt = await WebhookNotifier(client, clock, "http://tocsin.example")(channel, entry)
    assert (attempt.ok, attempt.status, attempt.error) == (False, None, "SSLCertVerificationError")
    assert script.requests == []
