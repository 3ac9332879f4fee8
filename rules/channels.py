"""Notification channels: how Tocsin delivers pages and messages."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from rules.credentials import BasicAuth, BearerAuth, Secret
from rules.templates import NotificationTemplates


class ChannelKind(enum.StrEnum):
    """The delivery mechanisms Tocsin has notifiers for."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"
    APPRISE = "apprise"  # the long tail (Teams, Telegram, Discord, ntfy, ...) by Apprise URL


class SmtpSecurity(enum.StrEnum):
    """How the SMTP connection is protected."""

    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (port 587)
    TLS = "tls"  # TLS from the first byte (port 465)
    NONE = "none"  # only for a relay on the same host


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """POSTs a JSON document about the incident to ``url``.

    ``signing_secret`` (a Standard Webhooks secret, ``whsec_`` and base64 of 24-64
    bytes) signs each request (``webhook-signature``); None: requests go unsigned.
    """

    url: Secret
    auth: BearerAuth | BasicAuth | None
    timeout: timedelta
    signing_secret: Secret | None = None


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """Posts to a Slack incoming webhook (its URL is the credential).

    ``signing_secret`` is the Slack app's signing secret: with it, messages carry
    Acknowledge and Resolve buttons and ``POST /slack/interactivity`` verifies the
    presses; None: no buttons. ``team_id`` is the Slack workspace (``T…``, or an
    Enterprise Grid's ``E…``) presses must come from; None: any the secret signs for.
    """

    webhook_url: Secret
    signing_secret: Secret | None = None
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Sends e-mail through an SMTP server."""

    host: str
    port: int
    security: SmtpSecurity
    sender: str  # the From address
    username: str | None
    password: Secret | None


@dataclass(frozen=True, slots=True)
class AppriseConfig:
    """Sends through the Apprise library to each of ``urls`` (``tgram://...``, ``ntfy://...``).

    Apprise URLs carry their tokens, so each is a secret.
    """

    urls: tuple[Secret, ...]
    timeout: timedelta


@dataclass(frozen=True, slots=True)
class Channel:
    """One configured way to deliver notifications.

    ``templates`` is None when the channel uses the rules' default notification text.
    """

    name: str
    kind: ChannelKind
    config: WebhookConfig | SlackConfig | SmtpConfig | AppriseConfig
    send_resolved: bool = True
    templates: NotificationTemplates | None = None

    @property
    def needs_address(self) -> bool:
        """Whether a person's contact on this channel must give an address (e-mail)."""
        return self.kind is ChannelKind.EMAIL
