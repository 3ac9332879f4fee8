"""A bundled message by e-mail (a real aiosmtpd) and Apprise (a real local receiver):
it lists the entries it replaces and carries no action link (one would act on one
incident of many). Before, it looked like the first incident's page, with its links."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from core.clock import ManualClock
from escalation.action_links import ActionLinks
from escalation.apprise_notifier import AppriseNotifier
from escalation.bundling import bundle_entry
from escalation.email import EmailNotifier
from escalation.email_message import BUNDLE_LINES
from escalation.page import Page
from rules.channels import AppriseConfig, Channel, ChannelKind, SmtpConfig, SmtpSecurity
from rules.credentials import Secret
from tests.escalation.smtp_server import Mailbox, smtp_server

NOW = datetime(2026, 11, 27, 15, 12, tzinfo=UTC)
PUBLIC = "https://tocsin.example"
COUNT = BUNDLE_LINES + 10
Server = Callable[..., Awaitable[TestServer]]


def bundle(channel: str) -> dict[str, Any]:
    """A bundle of COUNT pages of ana on ``channel``; incident 0's title is hostile."""
    pages = [
        Page(
            f"inc-{n:04d}",
            1,
            0,
            0,
            "ana",
            channel,
            "ana@example.org",
            NOW,
            "<b>Disk</b> & co" if n == 0 else f"Disk full on db-{n}",
            "triggered",
            "P2",
            "db",
        )
        for n in range(COUNT)
    ]
    return bundle_entry([(p.key, p.to_document()) for p in pages])


async def test_an_email_bundle_lists_its_entries_without_links() -> None:
    mailbox = Mailbox()
    links = ActionLinks("k" * 32, ManualClock(NOW))
    config = SmtpConfig(
        host="127.0.0.1",
        port=0,
        security=SmtpSecurity.NONE,
        sender="tocsin@example.org",
        username=None,
        password=None,
    )
    async with smtp_server(mailbox) as port:
        mail = Channel("mail", ChannelKind.EMAIL, replace(config, port=port))
        attempt = await EmailNotifier(ManualClock(NOW), PUBLIC, links=links)(mail, bundle("mail"))

    assert attempt.ok
    [(_, message)] = mailbox.messages
    assert message["Subject"] == f"{COUNT} notifications"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    text, page = plain.get_content(), html.get_content()
    assert "- [P2] <b>Disk</b> & co (triggered), incident inc-0000" in text
    assert f"incident inc-{BUNDLE_LINES - 1:04d}" in text
    assert f"incident inc-{BUNDLE_LINES:04d}" not in text
    assert "... and 10 more" in text
    assert "/act/" not in text
    assert "/act/" not in page
    assert "&lt;b&gt;Disk&lt;/b&gt; &amp; co" in page
    assert "<b>Disk" not in page


async def test_an_apprise_bundle_lists_its_entries_without_links(aiohttp_server: Server) -> None:
    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/a", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    config = AppriseConfig(
        (Secret(f"json://127.0.0.1:{server.port}/a", "inline"),), timedelta(seconds=10)
    )
    chat = Channel("chat", ChannelKind.APPRISE, config)
    links = ActionLinks("k" * 32, ManualClock(NOW))

    assert (await AppriseNotifier(ManualClock(NOW), PUBLIC, links=links)(chat, bundle("chat"))).ok

    [body] = received
    assert body["title"] == f"{COUNT} notifications"
    assert len(re.findall(r"^- \[P2\]", body["message"], re.MULTILINE)) == BUNDLE_LINES
    assert "... and 10 more" in body["message"]
    assert "/act/" not in body["message"]
