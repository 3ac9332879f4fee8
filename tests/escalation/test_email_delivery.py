"""E-mail pages through the outbox, on both stores: the stage pages, delivery sends through
the e-mail notifier (made by its factory) to a real aiosmtpd server, and records the result;
a 4xx reply is retried with backoff, a 5xx given up on."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest

from core.store import Store
from escalation.action_links import ActionLinks
from escalation.delivery import Backoff, NotifierContext, OutboxDelivery
from escalation.email import make_email_notifier
from escalation.page import OUTBOX
from rules.channels import Channel, ChannelKind, SmtpConfig, SmtpSecurity
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
)
from tests.escalation.smtp_server import Mailbox, smtp_server


def mailed_world(store: Store, port: int) -> World:
    """A world whose channel ``hook`` (the people's contact) is e-mail to the local server."""
    world = World(store)
    config = SmtpConfig("127.0.0.1", port, SmtpSecurity.NONE, "tocsin@example.org", None, None)
    mail = Channel("hook", ChannelKind.EMAIL, config)
    world.rules = replace(world.rules, channels={"hook": mail})
    return world


def delivery(world: World, session: aiohttp.ClientSession) -> OutboxDelivery:
    links = ActionLinks("k" * 32, world.clock)
    context = NotifierContext(
        session, world.clock, "https://tocsin.example", links, lambda: world.rules
    )
    return OutboxDelivery(
        world.store,
        lambda: world.rules,
        world.clock,
        {ChannelKind.EMAIL: make_email_notifier(context)},
        rng=random.Random(7),
        backoff=Backoff(timedelta(seconds=1), timedelta(seconds=60), max_attempts=3),
    )


@pytest.mark.parametrize(
    ("replies", "status", "attempts", "received"),
    [
        # Delivered at once.
        ([], "delivered", 1, 1),
        # Greylisted once (450), then accepted on the retry.
        (["450 4.7.1 greylisted"], "delivered", 2, 1),
        # No such mailbox (550): given up at once.
        (["550 5.1.1 no such user"], "failed", 1, 0),
    ],
)
async def test_an_email_page_is_delivered_and_recorded(
    store: Store, replies: list[str], status: str, attempts: int, received: int
) -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port, aiohttp.ClientSession() as session:
        world = mailed_world(store, port)
        incident = await world.open()
        await world.at(world.clock.now() + timedelta(seconds=30))
        sender = delivery(world, session)
        for reply in [*replies, None]:
            mailbox.rcpt_reply = reply
            await sender.step()
            world.clock.advance(timedelta(seconds=60))

    key = f"{incident}:1:0:0:ann:hook"
    entry = (await store.consumer_documents(OUTBOX, [key]))[key]
    assert (entry["status"], entry["attempts"]) == (status, attempts)
    assert [r["status"] for r in entry["results"]][-1] == (250 if status == "delivered" else 550)
    assert len(mailbox.messages) == received
    for envelope, message in mailbox.messages:
        assert envelope.rcpt_tos == ["ann@example.org"]
        plain = message.get_body(("plain",))
        assert plain is not None
        assert "Acknowledge: https://tocsin.example/act/" in plain.get_content()
