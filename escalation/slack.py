"""The Slack notifier: POSTs a Block Kit message to a channel's incoming webhook.

The message (``escalation.slack_message``) carries the rules' notification text (the
channel's ``templates``, else the rules' ``templates.notification``), the priority,
service and state, who is paged (a contact address that is a Slack user id, ``U…``, is
mentioned), and, when the channel has an interactivity ``signing_secret``, the buttons
Acknowledge and Resolve, which Slack sends to ``POST /slack/interactivity``.
Without a signing secret nothing could verify a press, so the buttons are left out.

A bundle (``kind`` ``bundle``, ``escalation.bundling``) is one message listing its
incidents, each by its id, with no buttons (a press would act on one of many) and no
links (the incident's URL is the API's, no use in a browser).

An update (an entry of ``kind`` ``update`` or ``resolved``, ``escalation.updates``,
which also decides ``send_resolved``) says what changed since the last message in its
context line and shows the incident's state now: no buttons once it is resolved.

How Slack's answers are classified for delivery's retries: 2xx delivered; 5xx, 408 and
429 (rate limited; its ``Retry-After`` is kept on the attempt, so the retry waits at
least that long) and network errors are transient; any other 4xx (``invalid_payload``,
``no_service``, ``channel_is_archived``, ...) is permanent. Error texts never carry the
webhook URL, which is the channel's credential.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import aiohttp
import orjson

from escalation.delivery import Attempt, Notifier, NotifierContext
from escalation.redirects import is_redirect, redirect_error
from escalation.slack_message import (
    IncidentFacts,
    bundle_message,
    escape,
    incident_message,
    mention,
    render_texts,
)
from rules import defaults
from rules.channels import Channel, SlackConfig
from rules.model import Rules
from rules.templates import NotificationTemplates, TemplateCompiler

# The longest Retry-After honoured: a longer one is most likely a mistake of the sender.
MAX_RETRY_AFTER = timedelta(hours=1)
_TIMEOUT = aiohttp.ClientTimeout(total=10)


def make_slack_notifier(context: NotifierContext) -> Notifier:
    """The Slack notifier of a process (its session, public URL and rules)."""
    return SlackNotifier(context.session, context.public_url, context.rules)


def incident_url(public_url: str, incident_id: str) -> str:
    """The incident in Tocsin's API (``incident.url`` of the templates; needs an API key)."""
    return f"{public_url.rstrip('/')}/api/v1/incidents/{urllib.parse.quote(incident_id, safe='')}"


def entry_facts(entry: Mapping[str, Any], public_url: str) -> IncidentFacts:
    """The incident as an outbox entry describes it (fields it lacks read as empty)."""
    labels = entry.get("labels")
    annotations = entry.get("annotations")
    return IncidentFacts(
        id=entry["incident"],
        title=entry["title"],
        state=entry["state"],
        priority=entry.get("priority"),
        service=entry.get("service"),
        url=incident_url(public_url, entry["incident"]),
        category=entry.get("category"),
        team=entry.get("team"),
        impact=entry.get("impact"),
        urgency=entry.get("urgency"),
        opened_at=entry.get("opened_at"),
        labels=labels if isinstance(labels, Mapping) else None,
        annotations=annotations if isinstance(annotations, Mapping) else None,
        alert_count=int(entry.get("alert_count") or 0),
    )


def channel_templates(
    channel: Channel, rules: Rules | None, builtin: NotificationTemplates
) -> NotificationTemplates:
    """The channel's own notification text, else the rules', else ``builtin``."""
    if channel.templates is not None:
        return channel.templates
    if rules is not None:
        return rules.templates.notification
    return builtin


class SlackNotifier:
    """Delivers outbox entries to Slack incoming webhooks."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        public_url: str,
        rules: Callable[[], Rules] | None = None,
    ) -> None:
        """``public_url`` is Tocsin's base URL (``incident.url``); ``rules`` the rules in force."""
        self._session = session
        self._public_url = public_url
        self._rules = rules
        self._builtin = defaults.incident_templates(TemplateCompiler()).notification

    def message(self, channel: Channel, entry: Mapping[str, Any]) -> dict[str, Any]:
        """The Block Kit message of an entry on a channel (see ``slack_message``)."""
        config = channel.config
        assert isinstance(config, SlackConfig)
        rules = self._rules() if self._rules is not None else None
        facts = entry_facts(entry, self._public_url)
        person = entry.get("person")
        found = rules.people.get(person) if rules is not None and person else None
        recipient = found.display_name if found is not None else (person or channel.name)
        if entry.get("kind") == "bundle":
            items = [entry_facts(item, self._public_url) for item in entry.get("bundle") or ()]
            who = mention(entry["address"]) if entry.get("address") else escape(recipient)
            return bundle_message(entry["title"], items, f"For {who}")
        texts = render_texts(
            channel_templates(channel, rules, self._builtin),
            facts,
            int(entry.get("level", 0)) + 1,
            recipient,
        )
        note = _note(entry, recipient)
        buttons = config.signing_secret is not None
        return incident_message(facts, texts, channel.name, note, buttons)

    async def __call__(self, channel: Channel, entry: Mapping[str, Any]) -> Attempt:
        """POSTs the entry's message to the channel's webhook; says how it went."""
        config = channel.config
        if not isinstance(config, SlackConfig):
            return Attempt(False, None, f"channel {channel.name} is not a Slack channel", False)
        data = orjson.dumps(self.message(channel, entry))
        try:
            async with self._session.post(
                config.webhook_url.value,
                data=data,
                headers={"content-type": "application/json"},
                timeout=_TIMEOUT,
                allow_redirects=False,  # escalation.redirects: never re-sent elsewhere
            ) as response:
                status = response.status
                if is_redirect(status):
                    location = response.headers.get("Location")
                    return Attempt(False, status, redirect_error(status, location), False)
                reason = (await response.text())[:200] if status >= 300 else ""
                retry_after = retry_after_of(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The error's class only: its text may carry the URL, which is the credential.
            return Attempt(False, None, type(exc).__name__, True)
        return classify(status, reason, retry_after)


def classify(status: int, reason: str, retry_after: timedelta | None) -> Attempt:
    """How Slack's answer counts for delivery (see the module docstring)."""
    if 200 <= status < 300:
        return Attempt(True, status, None, False)
    error = f"HTTP {status}" + (f": {reason.strip()}" if reason.strip() else "")
    if status >= 500 or status in (408, 429):
        return Attempt(False, status, error, True, retry_after=retry_after)
    return Attempt(False, status, error, False)


def retry_after_of(header: str | None) -> timedelta | None:
    """Reads Retry-After's seconds (Slack sends seconds), at most MAX_RETRY_AFTER."""
    if header is None or not header.strip().isdigit():
        return None
    return min(timedelta(seconds=int(header.strip())), MAX_RETRY_AFTER)


def _note(entry: Mapping[str, Any], recipient: str) -> str | None:
    """The context line (mrkdwn): what changed, who acted, or who is paged."""
    if entry.get("kind") in ("update", "resolved"):
        return _changes(entry)
    state = entry["state"]
    by = entry.get("acknowledged_by") if state == "acknowledged" else entry.get("resolved_by")
    if state in ("acknowledged", "resolved", "closed") and by:
        return f"{state.capitalize()} by {escape(str(by))}"
    if state != "triggered":
        return None
    address = entry.get("address") or ""
    if entry.get("person") is None:
        return None  # the channel itself is paged: everyone in it reads it
    who = mention(address) if address else escape(recipient)
    return f"Paging {who} (level {int(entry.get('level', 0)) + 1})"


def _changes(entry: Mapping[str, Any]) -> str:
    """An update's context line: how many changes of each kind, in order of first seen."""
    counts: dict[str, int] = {}
    for change in entry.get("changes") or ():
        kind = str(change.get("kind", "change")).replace("_", " ")
        counts[kind] = counts.get(kind, 0) + 1
    more = int(entry.get("more_changes") or 0)
    listed = ", ".join(
        f"{escape(kind)} ({n})" if n > 1 else escape(kind) for kind, n in counts.items()
    )
    text = f"Update: {listed or entry['state'].replace('_', ' ')}"
    return text + (f" (and {more} more)" if more else "")
