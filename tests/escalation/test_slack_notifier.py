"""The Slack notifier against a real local aiohttp server standing in for Slack's
incoming webhook: the exact Block Kit message, mrkdwn escaping, buttons, updates and how
Slack's answers are classified for delivery's retries (issue 11)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.store import Store
from escalation.delivery import Attempt, Backoff, NotifierContext, OutboxDelivery
from escalation.page import OUTBOX
from escalation.slack import SlackNotifier, make_slack_notifier
from rules.channels import Channel, ChannelKind, SlackConfig
from rules.credentials import Secret
from rules.people import ContactMethod, Person
from rules.templates import NotificationTemplates, TemplateCompiler, TemplateKind
from tests.escalation.escalation_world import (
    World,
    any_store,  # noqa: F401  (the fixture ``store``)
    make_rules,
)

PUBLIC_URL = "http://tocsin.example"
SIGNING = Secret("0123456789abcdef" * 2, "env:SLACK_SIGNING_SECRET")
Serve = Callable[..., Awaitable[TestServer]]


@dataclass
class FakeSlack:
    """Slack's incoming webhook: answers ``answers`` in turn (then 200 "ok"), keeps bodies."""

    answers: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.messages.append(await request.json())
        self.content_types.append(request.content_type)
        status, text, headers = self.answers.pop(0) if self.answers else (200, "ok", {})
        return web.Response(status=status, text=text, headers=headers)


async def started(aiohttp_server: Serve, slack: FakeSlack) -> str:
    """Starts the stand-in; returns its webhook URL."""
    app = web.Application()
    app.router.add_post("/services/T0/B0/x", slack.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/services/T0/B0/x"))


def slack_channel(url: str, signing: Secret | None = SIGNING, **changes: Any) -> Channel:
    """Channel ``ops`` posting to ``url``."""
    channel = Channel("ops", ChannelKind.SLACK, SlackConfig(Secret(url, "env:SLACK_URL"), signing))
    return replace(channel, **changes)


def slack_world(store: Store, url: str) -> World:
    """A world whose people are paged on Slack: ann by user id, bob by handle."""
    rules = make_rules()
    people = {
        "ann": Person("ann", "Ann <Admin>", (ContactMethod("ops", "U024BE7LH"),)),
        "bob": Person("bob", "Bob", (ContactMethod("ops", "@bob"),)),
    }
    return World(store, rules=replace(rules, channels={"ops": slack_channel(url)}, people=people))


def entry(**changes: Any) -> dict[str, Any]:
    """An outbox entry paging ann on ``ops`` about incident inc-0001."""
    base: dict[str, Any] = {
        "key": "inc-0001:1:0:0:ann:ops",
        "incident": "inc-0001",
        "generation": 1,
        "level": 0,
        "repeat": 0,
        "person": "ann",
        "channel": "ops",
        "address": "U024BE7LH",
        "title": "High latency on web-1",
        "state": "triggered",
        "priority": "P2",
        "service": "checkout",
        "status": "pending",
        "attempts": 0,
        "results": [],
    }
    return base | changes


async def test_a_page_arrives_as_the_documented_block_kit_message(
    store: Store, aiohttp_server: Serve
) -> None:
    slack = FakeSlack()
    world = slack_world(store, await started(aiohttp_server, slack))
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))

    async with aiohttp.ClientSession() as session:
        context = NotifierContext(session, world.clock, PUBLIC_URL, rules=lambda: world.rules)
        delivery = OutboxDelivery(
            world.store,
            lambda: world.rules,
            world.clock,
            {ChannelKind.SLACK: make_slack_notifier(context)},
        )
        assert await delivery.step() == 1

    url = f"{PUBLIC_URL}/api/v1/incidents/{incident}"
    assert slack.content_types == ["application/json"]
    assert slack.messages == [
        {
            "text": "[P2] High latency on web-1",
            "blocks": [
                {
                    "type": "header",
                    "text": {
                        "type": "plain_text",
                        "text": "[P2] High latency on web-1",
                        "emoji": True,
                    },
                },
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": "*Priority*\nP2"},
                        {"type": "mrkdwn", "text": "*Service*\ncheckout"},
                        {"type": "mrkdwn", "text": "*State*\ntriggered"},
                    ],
                },
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        # The rules' default notification body, with the incident's
                        # category, alert count and summary as the page was decided.
                        "text": "High latency on web-1\n"
                        "Priority P2, performance, service checkout; 1 alert(s).\n"
                        "latency on web-1\n" + url,
                        "verbatim": True,
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": "Paging <@U024BE7LH> (level 1)",
                            "verbatim": True,
                        }
                    ],
                },
                {
                    "type": "actions",
                    "block_id": "tocsin:ops",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "acknowledge",
                            "value": incident,
                            "style": "primary",
                            "text": {"type": "plain_text", "text": "Acknowledge"},
                        },
                        {
                            "type": "button",
                            "action_id": "resolve",
                            "value": incident,
                            "style": "danger",
                            "text": {"type": "plain_text", "text": "Resolve"},
                            "confirm": {
                                "title": {"type": "plain_text", "text": "Resolve the incident?"},
                                "text": {"type": "plain_text", "text": "High latency on web-1"},
                                "confirm": {"type": "plain_text", "text": "Resolve"},
                                "deny": {"type": "plain_text", "text": "Cancel"},
                            },
                        },
                        # No Open button: the incident's URL is the API's (review 11, 7).
                    ],
                },
            ],
        }
    ]
    assert await world.outbox() == []  # delivered


def _mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every text Slack parses as mrkdwn: the fallback and each mrkdwn object."""
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


async def test_incident_text_cannot_inject_links_or_mentions(aiohttp_server: Serve) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    hostile = "Disk <!channel> & <http://evil.example|click> <@U999> full"
    async with aiohttp.ClientSession() as session:
        notifier = SlackNotifier(session, PUBLIC_URL)
        attempt = await notifier(
            channel,
            entry(
                title=hostile,
                service="<!here>",
                priority="P2&",
                person="mallory",
                address="<!everyone>",
            ),
        )
    assert attempt.ok
    [message] = slack.messages
    texts = _mrkdwn_texts(message)
    escaped = "Disk &lt;!channel&gt; &amp; &lt;http://evil.example|click&gt; &lt;@U999&gt; full"
    assert message["text"] == f"[P2&amp;] {escaped}"
    assert any(escaped in text for text in texts[1:])  # the body
    assert "*Service*\n&lt;!here&gt;" in texts
    assert "Paging &lt;!everyone&gt; (level 1)" in texts
    for text in texts:
        # No control character survives: no link, mention or special mention can form.
        assert "<" not in text, text
        assert ">" not in text, text
        assert "&" not in text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
    # The header is plain text (never parsed): it shows the title as it is.
    assert message["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": f"[P2&] {hostile}",
        "emoji": True,
    }


async def test_a_long_title_is_cut_to_slacks_limits_without_half_an_entity(
    aiohttp_server: Serve,
) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    async with aiohttp.ClientSession() as session:
        attempt = await SlackNotifier(session, PUBLIC_URL)(channel, entry(title="&" * 5000))
    assert attempt.ok, attempt  # slack-sdk validates lengths: an overlong block would raise
    [message] = slack.messages
    assert len(message["blocks"][0]["text"]["text"]) == 150
    body = message["blocks"][2]["text"]["text"]
    assert len(body) <= 3000
    assert body.endswith("&amp;…")


async def test_a_channel_without_a_signing_secret_has_no_buttons(aiohttp_server: Serve) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack), signing=None)
    async with aiohttp.ClientSession() as session:
        assert (await SlackNotifier(session, PUBLIC_URL)(channel, entry())).ok
    [message] = slack.messages
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section", "context"]


async def test_the_channels_templates_write_the_text(aiohttp_server: Serve) -> None:
    slack = FakeSlack()
    compiler = TemplateCompiler()
    templates = NotificationTemplates(
        compiler.compile(
            ":rotating_light: {{ incident.priority }} {{ incident.title }}",
            TemplateKind.NOTIFICATION,
        ),
        compiler.compile(
            "*{{ recipient }}*, level {{ level }}: <{{ incident.url }}|open {{ incident.id }}>",
            TemplateKind.NOTIFICATION,
        ),
    )
    channel = slack_channel(await started(aiohttp_server, slack), templates=templates)
    async with aiohttp.ClientSession() as session:
        notifier = SlackNotifier(session, PUBLIC_URL)
        assert (await notifier(channel, entry(level=1, person=None))).ok
    [message] = slack.messages
    assert message["text"] == ":rotating_light: P2 High latency on web-1"
    assert message["blocks"][0]["text"]["text"] == ":rotating_light: P2 High latency on web-1"
    # The template's own link stays a link; the values in it are the incident's.
    assert message["blocks"][2]["text"]["text"] == (
        f"*ops*, level 2: <{PUBLIC_URL}/api/v1/incidents/inc-0001|open inc-0001>"
    )
    # A page of the channel itself mentions nobody.
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section", "actions"]


@pytest.mark.parametrize(
    ("changes", "note", "buttons"),
    [
        # The incident resolved: what changed, and no buttons any more.
        (
            {"kind": "resolved", "state": "resolved", "changes": [{"kind": "resolved"}]},
            "Update: resolved",
            False,
        ),
        # Alerts joined an open incident: counted by kind; still triggered, so buttons.
        (
            {
                "kind": "update",
                "changes": [
                    {"kind": "alerts_joined"},
                    {"kind": "alerts_joined"},
                    {"kind": "alert_resolved"},
                ],
                "more_changes": 4,
            },
            "Update: alerts joined (2), alert resolved (and 4 more)",
            True,
        ),
        # Acknowledged: the buttons left are Resolve and Open.
        (
            {"kind": "update", "state": "acknowledged", "changes": [{"kind": "acknowledged"}]},
            "Update: acknowledged",
            True,
        ),
    ],
)
async def test_updates_say_what_changed(
    aiohttp_server: Serve, changes: dict[str, Any], note: str, buttons: bool
) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    async with aiohttp.ClientSession() as session:
        assert (await SlackNotifier(session, PUBLIC_URL)(channel, entry(**changes))).ok
    [message] = slack.messages
    blocks = {b["type"]: b for b in message["blocks"]}
    assert blocks["context"]["elements"][0]["text"] == note
    assert ("actions" in blocks) is buttons
    if buttons:
        ids = [e["action_id"] for e in blocks["actions"]["elements"]]
        expected = ["resolve"] if changes.get("state") == "acknowledged" else None
        assert ids == (expected or ["acknowledge", "resolve"])


@pytest.mark.parametrize(
    ("status", "text", "headers", "expected"),
    [
        # Delivered.
        (200, "ok", {}, Attempt(True, 200, None, False)),
        # Slack's own errors for a bad request or a gone channel: permanent.
        (400, "invalid_payload", {}, Attempt(False, 400, "HTTP 400: invalid_payload", False)),
        (403, "action_prohibited", {}, Attempt(False, 403, "HTTP 403: action_prohibited", False)),
        (404, "no_service", {}, Attempt(False, 404, "HTTP 404: no_service", False)),
        (
            410,
            "channel_is_archived",
            {},
            Attempt(False, 410, "HTTP 410: channel_is_archived", False),
        ),
        # Rate limited: transient, and the retry waits Retry-After.
        (
            429,
            "rate_limited",
            {"Retry-After": "30"},
            Attempt(False, 429, "HTTP 429: rate_limited", True, timedelta(seconds=30)),
        ),
        # A Retry-After that is not seconds is ignored (the backoff decides).
        (429, "", {"Retry-After": "soon"}, Attempt(False, 429, "HTTP 429", True)),
        # An absurd Retry-After is held to an hour.
        (
            429,
            "",
            {"Retry-After": "86400"},
            Attempt(False, 429, "HTTP 429", True, timedelta(hours=1)),
        ),
        # Slack's trouble: transient.
        (500, "rollup_error", {}, Attempt(False, 500, "HTTP 500: rollup_error", True)),
        (503, "", {}, Attempt(False, 503, "HTTP 503", True)),
    ],
)
async def test_slacks_answers_are_classified_for_retries(
    aiohttp_server: Serve, status: int, text: str, headers: dict[str, str], expected: Attempt
) -> None:
    slack = FakeSlack([(status, text, headers)])
    channel = slack_channel(await started(aiohttp_server, slack))
    async with aiohttp.ClientSession() as session:
        assert await SlackNotifier(session, PUBLIC_URL)(channel, entry()) == expected


async def test_an_unreachable_webhook_is_transient_and_its_url_is_not_reported(
    unused_tcp_port: int,
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/services/T0/B0/SECRET-PART"
    async with aiohttp.ClientSession() as session:
        attempt = await SlackNotifier(session, PUBLIC_URL)(slack_channel(url), entry())
    assert (attempt.ok, attempt.status, attempt.transient) == (False, None, True)
    assert attempt.error is not None
    assert "SECRET-PART" not in attempt.error


async def test_delivery_waits_for_retry_after(store: Store, aiohttp_server: Serve) -> None:
    slack = FakeSlack([(429, "rate_limited", {"Retry-After": "120"})])
    world = slack_world(store, await started(aiohttp_server, slack))
    incident = await world.open()
    await world.at(world.clock.now() + timedelta(seconds=30))
    key = f"{incident}:1:0:0:ann:ops"

    async with aiohttp.ClientSession() as session:
        delivery = OutboxDelivery(
            world.store,
            lambda: world.rules,
            world.clock,
            {ChannelKind.SLACK: SlackNotifier(session, PUBLIC_URL, lambda: world.rules)},
            rng=random.Random(7),
            # The backoff alone would retry within 2 s.
            backoff=Backoff(timedelta(seconds=1), timedelta(seconds=2), max_attempts=5),
        )
        assert await delivery.step() == 1
        world.clock.advance(timedelta(seconds=119))
        assert await delivery.step() == 0  # Retry-After is not over
        world.clock.advance(timedelta(seconds=1))
        assert await delivery.step() == 1

    stored = (await store.consumer_documents(OUTBOX, [key]))[key]
    assert (stored["status"], stored["attempts"]) == ("delivered", 2)
    assert len(slack.messages) == 2


async def test_a_bundle_lists_its_incidents_by_id_without_buttons_or_links(
    aiohttp_server: Serve,
) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    listed = [entry(incident=f"inc-{n:04d}", title=f"Disk full on db-{n}") for n in range(1, 3)] + [
        entry(incident="inc-0003", title="<!channel> & co", state="acknowledged")
    ]
    bundle = entry(kind="bundle", title="3 notifications", bundle=listed)
    async with aiohttp.ClientSession() as session:
        assert (await SlackNotifier(session, PUBLIC_URL)(channel, bundle)).ok
    [message] = slack.messages
    # No link: the incident's URL is the API's, a 401 in a browser (review 11 finding 7).
    assert message == {
        "text": "3 notifications",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "3 notifications"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "• [P2] Disk full on db-1 (triggered), incident inc-0001\n"
                    "• [P2] Disk full on db-2 (triggered), incident inc-0002\n"
                    "• [P2] &lt;!channel&gt; &amp; co (acknowledged), incident inc-0003",
                    "verbatim": True,
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "For <@U024BE7LH>", "verbatim": True}],
            },
        ],
    }


async def test_a_long_bundle_says_how_many_it_left_out(aiohttp_server: Serve) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    listed = [entry(incident=f"inc-{n:04d}", title="x" * 200) for n in range(100)]
    bundle = entry(kind="bundle", title="100 notifications", bundle=listed)
    async with aiohttp.ClientSession() as session:
        assert (await SlackNotifier(session, PUBLIC_URL)(channel, bundle)).ok
    text = slack.messages[0]["blocks"][1]["text"]["text"]
    assert len(text) <= 3000
    lines = text.split("\n")
    assert lines[-1] == f"… and {100 - (len(lines) - 1)} more"
    assert all("(triggered), incident inc-" in line for line in lines[:-1])


async def test_an_odd_incident_id_cannot_form_a_link(aiohttp_server: Serve) -> None:
    slack = FakeSlack()
    channel = slack_channel(await started(aiohttp_server, slack))
    odd = entry(incident="x>|<!channel>")
    bundle = entry(kind="bundle", title="1 notification", bundle=[odd])
    async with aiohttp.ClientSession() as session:
        assert (await SlackNotifier(session, PUBLIC_URL)(channel, bundle)).ok
    line = slack.messages[0]["blocks"][1]["text"]["text"]
    assert line == "• [P2] High latency on web-1 (triggered), incident x&gt;|&lt;!channel&gt;"
