"""The webhook notifier: POSTs a page as JSON, signed per the Standard Webhooks spec.

It sends through ``escalation.webhook_http`` (one POST over a kept-alive connection, at
a fraction of a general HTTP client's CPU per send), within the channel's ``timeout``;
a failure to connect or to read the answer is recorded by its class and retried. A
request that cannot be sent as configured (``InvalidURL``: the channel's URL is not a
URL; ``MalformedRequest``: not http or https, no host, a header with a line break) is
given up at once, as a 4xx is: no retry can succeed.

Headers (https://www.standardwebhooks.com/, signed with the ``standardwebhooks``
package, so a receiver verifies them with any off-the-shelf implementation):

- ``webhook-id``: the outbox entry's idempotency key (the same on every retry, so a
  receiver can drop a duplicate);
- ``webhook-timestamp``: seconds since the epoch, from the injected clock;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``, keyed with
  the channel's ``signing_secret`` (a channel without one sends no signature).

The body (:func:`webhook_body`)::

    {"type": "incident.page",
     "incident": {"id": "...", "title": "...", "state": "triggered",
                  "priority": "P2", "service": "checkout", "category": "availability",
                  "team": "shop", "impact": "high", "urgency": "medium",
                  "opened_at": "2026-...Z", "alert_count": 2, "firing_count": 1,
                  "labels": {"alertname": "..."}, "annotations": {"summary": "..."}},
     "page": {"key": "...", "level": 1, "repeat": 0, "person": "ann",
              "address": "ann@example.org", "channel": "hook"},
     "links": {"incident": "http://127.0.0.1:9094/api/v1/incidents/<id>"}}

``level`` counts from 1; ``person`` is null when the policy pages the channel itself.
``links.incident`` is the incident in the API (``GET`` with an API key): for the
receiving program, not a page for a person's browser.
The incident's category to annotations are as when the page was decided
(``escalation.page_summary``: common labels, a few annotations, cut to its limits); in an
entry stored before they were kept, the texts are null, the counts 0, the mappings empty.
An update to those already paged (``escalation.updates``) has ``"type":
"incident.update"`` (``"incident.resolved"`` once the incident resolved) and
``"changes": [{"at", "kind", "alerts"}]`` (``kind``: ``alerts_joined``,
``alert_firing``, ``alert_resolved``, ``alert_expired``, ``resolved``; ``alerts``: the
fingerprints concerned) plus ``more_changes``; a bundled message
(``escalation.bundling``) has ``"type": "incident.bundle"`` and ``"bundle": [{"key",
"kind", "incident", "title", "state", "priority", "service"}]``, the messages it
replaces. An SLA warning or breach (``escalation.sla_pages``) has ``"type": "incident.sla"`` and
``"sla": {"cycle", "clock", "threshold", "target_seconds", "elapsed_seconds"}`` (its
title begins with what it is, e.g. ``SLA time to acknowledge P1 breached: ...``).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

import orjson
from standardwebhooks import Webhook
from yarl import URL

from core.clock import Clock
from core.timestamps import format_rfc3339, from_micros
from escalation.delivery import Attempt, Notifier, NotifierContext
from escalation.redirects import is_redirect, redirect_error
from escalation.webhook_http import MalformedRequest, WebhookClient, WebhookHTTPError
from rules.channels import Channel, WebhookConfig
from rules.credentials import BasicAuth, BearerAuth

_SUMMARY_TEXT = ("category", "team", "impact", "urgency", "opened_at")


def _strings(found: object) -> dict[str, str]:
    """A stored label or annotation mapping (absent in old entries: empty)."""
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def webhook_body(entry: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The documented JSON body of an outbox entry (see the module docstring)."""
    incident = entry["incident"]
    body: dict[str, Any] = {
        "type": "incident.page",
        "incident": {
            "id": incident,
            "title": entry["title"],
            "state": entry["state"],
            "priority": entry["priority"],
            "service": entry["service"],
            # The summary copied when the page was decided (escalation.page_summary);
            # an entry written before it was kept reads as empty.
            **{name: entry.get(name) for name in _SUMMARY_TEXT},
            "alert_count": int(entry.get("alert_count") or 0),
            "firing_count": int(entry.get("firing_count") or 0),
            "labels": _strings(entry.get("labels")),
            "annotations": _strings(entry.get("annotations")),
        },
        "page": {
            "key": entry["key"],
            "level": entry["level"] + 1,
            "repeat": entry["repeat"],
            "person": entry["person"],
            "address": entry["address"],
            "channel": entry["channel"],
        },
        "links": {"incident": f"{base_url.rstrip('/')}/api/v1/incidents/{incident}"},
    }
    sla = entry.get("sla")
    if isinstance(sla, Mapping):
        body["type"] = "incident.sla"
        body["sla"] = dict(sla)
    kind = entry.get("kind", "page")
    if kind in ("update", "resolved"):
        body["type"] = f"incident.{kind}"
        body["changes"] = [_change(c) for c in entry.get("changes", ())]
        body["more_changes"] = entry.get("more_changes", 0)
    elif kind == "bundle":
        body["type"] = "incident.bundle"
        body["bundle"] = [dict(b) for b in entry.get("bundle", ())]
    return body


def _change(change: Mapping[str, Any]) -> dict[str, Any]:
    """One change of an update, its time as RFC 3339."""
    return {
        "at": format_rfc3339(from_micros(change["at"])),
        "kind": change["kind"],
        "alerts": list(change["alerts"]),
    }


def make_webhook_notifier(context: NotifierContext) -> Notifier:
    """The webhook notifier of a process (its webhook client, clock and public URL)."""
    return WebhookNotifier(context.webhooks, context.clock, context.public_url)


class WebhookNotifier:
    """Delivers outbox entries to webhook channels, each signed with its channel's secret."""

    def __init__(self, client: WebhookClient, clock: Clock, base_url: str) -> None:
        """``base_url`` is Tocsin's public base URL, for the links in the body."""
        self._client = client
        self._clock = clock
        self._base_url = base_url
        self._signers: dict[str, Webhook] = {}

    async def __call__(self, channel: Channel, entry: Mapping[str, Any]) -> Attempt:
        """POSTs the entry's body to the channel's URL; says how it went."""
        config = channel.config
        if not isinstance(config, WebhookConfig):
            return Attempt(False, None, f"channel {channel.name} is not a webhook", False)
        data = orjson.dumps(webhook_body(entry, self._base_url))
        now = self._clock.now()
        headers = {
            "content-type": "application/json",
            "webhook-id": entry["key"],
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if config.signing_secret is not None:
            signer = self._signer(config.signing_secret.value)
            headers["webhook-signature"] = signer.sign(entry["key"], now, data.decode())
        headers.update(_auth_header(config))
        url = _url(config.url.value)
        if url is None:
            return Attempt(False, None, "InvalidURL", False)  # the rules' fault: not retried
        try:
            async with asyncio.timeout(config.timeout.total_seconds()):
                answer = await self._client.post(url, data, headers)
        except MalformedRequest:
            return Attempt(False, None, "MalformedRequest", False)  # never sent: not retried
        except (OSError, WebhookHTTPError, TimeoutError) as exc:
            # The error's class only: its text may carry the URL, which is a secret.
            return Attempt(False, None, type(exc).__name__, True)
        status, location = answer.status, answer.location
        if 200 <= status < 300:
            return Attempt(True, status, None, False)
        if is_redirect(status):
            return Attempt(False, status, redirect_error(status, location), False)
        # Retried: the receiver's trouble (5xx), a rate limit (429), a timeout (408).
        transient = status >= 500 or status in (408, 429)
        return Attempt(False, status, f"HTTP {status}", transient)

    def _signer(self, secret: str) -> Webhook:
        """The signer of one secret (a reload may bring a new one: kept by value)."""
        signer = self._signers.get(secret)
        if signer is None:
            signer = self._signers[secret] = Webhook(secret)
        return signer


def _url(text: str) -> URL | None:
    """The channel's URL (None: it is not a URL).

    Parsed once per channel URL, not at every send: yarl keeps the URLs it made from
    strings (an LRU cache in ``URL()``), and the rules hold few.
    """
    try:
        return URL(text)
    except ValueError:
        return None


def _auth_header(config: WebhookConfig) -> dict[str, str]:
    """The Authorization header the channel's credentials ask for, if any."""
    auth = config.auth
    if isinstance(auth, BearerAuth):
        return {"authorization": f"Bearer {auth.token.value}"}
    if isinstance(auth, BasicAuth):
        pair = f"{auth.username}:{auth.password.value}".encode()
        return {"authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}
