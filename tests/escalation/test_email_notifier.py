"""The e-mail notifier against a real aiosmtpd server: the message, security modes, failures.

The action links in a sent message are followed against a real Tocsin app (SQLite): the
link in the mail acknowledges the incident as its recipient.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from core.clock import ManualClock
from core.incident import IncidentState
from core.settings import Settings
from escalation.action_links import ActionLinks
from escalation.email import EmailNotifier
from rules.channels import Channel, ChannelKind, SmtpConfig, SmtpSecurity
from rules.credentials import Secret
from rules.templates import NotificationTemplates, TemplateCompiler, TemplateKind
from tests.escalation.smtp_server import (
    Mailbox,
    make_certificate,
    password_check,
    smtp_server,
)
from tests.support import free_port
from tests.tocsin.actions_harness import Client, incident, serve
from tocsin.keys import ACTION_LINKS

NOW = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)
PUBLIC = "https://tocsin.example"


def channel(
    port: int,
    security: SmtpSecurity = SmtpSecurity.NONE,
    login: tuple[str, str] | None = None,
    templates: NotificationTemplates | None = None,
) -> Channel:
    """An e-mail channel to the local server."""
    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        security=security,
        sender="tocsin@example.org",
        username=None if login is None else login[0],
        password=None if login is None else Secret(login[1], "env:SMTP_PASSWORD"),
    )
    return Channel("mail", ChannelKind.EMAIL, config, templates=templates)


def entry(**changes: Any) -> dict[str, Any]:
    """An outbox entry paging ana by e-mail about incident inc-0001."""
    return {
        "key": "inc-0001:1:0:0:ana:mail",
        "incident": "inc-0001",
        "generation": 1,
        "level": 0,
        "repeat": 0,
        "person": "ana",
        "channel": "mail",
        "address": "ana@example.org",
        "title": "High latency on web-1",
        "state": "triggered",
        "priority": "P2",
        "service": "checkout",
        "status": "pending",
        "attempts": 0,
        "results": [],
    } | changes


def notifier(links: ActionLinks | None = None, **options: Any) -> EmailNotifier:
    return EmailNotifier(ManualClock(NOW), PUBLIC, links=links, **options)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return (
        plain.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


async def test_a_page_is_sent_as_plain_text_and_html_with_links() -> None:
    mailbox = Mailbox()
    links = ActionLinks("k" * 32, ManualClock(NOW))
    compiler = TemplateCompiler()
    templates = NotificationTemplates(
        compiler.compile(
            "[{{ incident.priority }}] {{ incident.title }} (level {{ level }})",
            TemplateKind.NOTIFICATION,
        ),
        compiler.compile(
            "{{ recipient }}: {{ incident.title }} on {{ incident.service }}",
            TemplateKind.NOTIFICATION,
        ),
    )
    async with smtp_server(mailbox) as port:
        send = notifier(links)
        attempt = await send(channel(port, templates=templates), entry())
        # A retry of the entry, and another entry.
        await send(channel(port, templates=templates), entry())
        await send(channel(port, templates=templates), entry(key="inc-0001:1:1:0:ana:mail"))
    assert (attempt.ok, attempt.status, attempt.error) == (True, 250, None)

    (envelope, message), (_, retry), (_, other) = mailbox.messages
    assert envelope.mail_from == "tocsin@example.org"
    assert envelope.rcpt_tos == ["ana@example.org"]
    assert message["Subject"] == "[P2] High latency on web-1 (level 1)"
    assert message["To"] == "ana@example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"] == "Fri, 27 Nov 2026 15:12:00 +0000"
    # The same entry always has the same Message-ID (a retry is recognisable).
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.org>", message["Message-ID"])
    assert retry["Message-ID"] == message["Message-ID"] != other["Message-ID"]
    assert retry["References"] == other["References"]  # one thread per incident
    plain, html = parts(message)
    assert plain.startswith("ana: High latency on web-1 on checkout\n")
    # No link to the API's incident URL (a 401 in a browser): review 11 finding 7.
    assert "Open:" not in plain
    assert "Open<" not in html
    for action in ("Acknowledge", "Resolve"):
        [url] = re.findall(rf"{action}: (\S+)", plain)
        assert url.startswith("https://tocsin.example/act/")
        claim = links.verify(url.removeprefix("https://tocsin.example/act/"))
        assert (claim.incident_id, claim.person, claim.action.value) == (
            "inc-0001",
            "ana",
            action.lower(),
        )
        assert f">{action}</a>" in html


async def test_hostile_text_is_escaped_and_cannot_add_headers() -> None:
    mailbox = Mailbox()
    title = "<b>x</b>\r\nBcc: mallory@example.net"
    async with smtp_server(mailbox) as port:
        attempt = await notifier()(channel(port), entry(title=title))
    assert attempt.ok, attempt.error
    [(envelope, message)] = mailbox.messages
    assert envelope.rcpt_tos == ["ana@example.org"]
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    _, html = parts(message)
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


async def test_links_only_while_the_state_allows_them() -> None:
    mailbox = Mailbox()
    links = ActionLinks("k" * 32, ManualClock(NOW))
    async with smtp_server(mailbox) as port:
        for state in ("acknowledged", "resolved"):
            await notifier(links)(channel(port), entry(state=state))
        await notifier(links)(channel(port), entry(person=None))  # a channel paged as such
    texts = [parts(m)[0] for _, m in mailbox.messages]
    assert ["Acknowledge:" in t for t in texts] == [False, False, False]
    assert ["Resolve:" in t for t in texts] == [True, False, False]


async def test_starttls_with_login(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    mailbox = Mailbox()
    smtp = {
        "tls_context": certificate.server_context(),
        "require_starttls": True,
        "authenticator": password_check("tocsin", "s3cret"),
        "auth_required": True,
    }
    send = notifier(tls_context=certificate.client_context())
    async with smtp_server(mailbox, **smtp) as port:
        ok = await send(channel(port, SmtpSecurity.STARTTLS, ("tocsin", "s3cret")), entry())
        wrong = await send(channel(port, SmtpSecurity.STARTTLS, ("tocsin", "nope")), entry())
    assert ok.ok, ok.error
    # Bad credentials are permanent (535), and the password is not in the error.
    assert (wrong.ok, wrong.status, wrong.transient) == (False, 535, False)
    assert "nope" not in (wrong.error or "")
    assert len(mailbox.messages) == 1


async def test_implicit_tls(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    mailbox = Mailbox()
    trusted = notifier(tls_context=certificate.client_context())
    async with smtp_server(mailbox, tls=certificate.server_context()) as port:
        ok = await trusted(channel(port, SmtpSecurity.TLS), entry())
        # The system's trust store does not know the self-signed certificate.
        untrusted = await notifier()(channel(port, SmtpSecurity.TLS), entry())
    assert ok.ok, ok.error
    assert (untrusted.ok, untrusted.transient) == (False, False)
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    ("reply", "status", "transient"),
    [
        ("450 4.2.1 mailbox busy, try later", 450, True),  # 4xx: try again later
        ("421 4.7.0 too many connections", 421, True),
        ("550 5.1.1 no such user", 550, False),  # 5xx: never going to work
    ],
)
async def test_smtp_replies_are_classified(reply: str, status: int, transient: bool) -> None:
    mailbox = Mailbox(rcpt_reply=reply)
    async with smtp_server(mailbox) as port:
        attempt = await notifier()(channel(port), entry())
    assert (attempt.ok, attempt.status, attempt.transient) == (False, status, transient)
    assert reply.split(" ", 1)[1] in (attempt.error or "")
    assert mailbox.messages == []


async def test_no_server_is_transient_and_missing_starttls_permanent() -> None:
    refused = await notifier()(channel(free_port()), entry())
    assert (refused.ok, refused.status, refused.transient) == (False, None, True)
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port:  # offers no STARTTLS
        plain_only = await notifier()(channel(port, SmtpSecurity.STARTTLS), entry())
        no_address = await notifier()(channel(port), entry(address=""))
    assert (plain_only.ok, plain_only.transient) == (False, False)
    assert (no_address.ok, no_address.transient) == (False, False)
    assert mailbox.messages == []


async def test_an_address_with_a_line_break_is_given_up_on() -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port:
        sneaky = entry(address="ana@example.org\r\nBcc: mallory@example.net")
        attempt = await notifier()(channel(port), sneaky)
    assert (attempt.ok, attempt.transient) == (False, False)
    assert attempt.error is not None
    assert attempt.error.startswith("the message cannot be built")
    assert mailbox.messages == []


async def test_the_mailed_link_acknowledges_as_the_recipient(
    aiohttp_client: Callable[..., Awaitable[Client]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    served = await serve(aiohttp_client, make_settings, tmp_path, None)
    await served.seed(incident(1))
    links: ActionLinks = served.client.app[ACTION_LINKS]
    mailbox = Mailbox()
    send = EmailNotifier(served.clock, PUBLIC, links=links)
    async with smtp_server(mailbox) as port:
        assert (await send(channel(port), entry())).ok
    plain, _ = parts(mailbox.messages[0][1])
    [url] = re.findall(r"Acknowledge: (\S+)", plain)
    path = url.removeprefix(PUBLIC)

    served.clock.advance(timedelta(minutes=3))
    assert (await served.client.get(path)).status == 200  # a scanner's prefetch
    found = await served.store.get_incident("inc-0001")
    assert found is not None
    assert found.state is IncidentState.TRIGGERED
    assert (await served.client.post(path, data={})).status == 200
    found = await served.store.get_incident("inc-0001")
    assert found is not None
    assert (found.state, found.acknowledged_by) == (IncidentState.ACKNOWLEDGED, "ana")


async def test_an_update_says_what_changed() -> None:
    mailbox = Mailbox()
    changes = [{"kind": "alert_joined"}, {"kind": "alert_joined"}, {"kind": "alert_resolved"}]
    update = entry(
        key="inc-0001:update1:ana:mail",
        kind="update",
        changes=changes,
        more_changes=4,
        state="acknowledged",
    )
    async with smtp_server(mailbox) as port:
        assert (await notifier()(channel(port), update)).ok
        assert (await notifier()(channel(port), entry(kind="resolved", state="resolved"))).ok
    (_, first), (_, second) = mailbox.messages
    assert first["Subject"] == "Update: [P2] High latency on web-1"
    assert second["Subject"].startswith("Resolved: ")
    plain, html = parts(first)
    assert plain.startswith("Update: alert joined (2), alert resolved (and 4 more)\n")
    assert "Update: alert joined (2)" in html
