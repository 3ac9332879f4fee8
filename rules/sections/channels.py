"""The ``channels`` section: how notifications are delivered (webhook, Slack, e-mail, Apprise)."""

from __future__ import annotations

import base64
import re
import urllib.parse
from datetime import timedelta

import yaml

from rules.channels import (
    AppriseConfig,
    Channel,
    ChannelKind,
    SlackConfig,
    SmtpConfig,
    SmtpSecurity,
    WebhookConfig,
)
from rules.credentials import Secret
from rules.sections import values as read
from rules.sections.apprise_channel import read_apprise
from rules.sections.context import FileContext
from rules.sections.secrets import read_secret
from rules.sections.sources import read_auth
from rules.templates import NotificationTemplates, TemplateKind
from rules.yamlread import join

_KINDS = {k.value for k in ChannelKind}
_SECURITY = [s.value for s in SmtpSecurity]
_DEFAULT_TIMEOUT = timedelta(seconds=10)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_SLACK_SIGNING = re.compile(r"[0-9a-f]{32,}")
_SLACK_TEAM = re.compile(r"[TE][A-Z0-9]+")


def read_channels(ctx: FileContext, node: yaml.Node, key: str) -> list[Channel]:
    """Reads the list under ``channels``."""
    return ctx.read_named(node, key, "channel", _read_channel)


def _read_channel(ctx: FileContext, node: yaml.Node, key: str) -> Channel | None:
    reader = ctx.reader
    allowed = {"name", "send_resolved", "templates"} | _KINDS
    values = reader.mapping(node, key, allowed, {"name"})
    if values is None:
        return None
    before = len(reader.problems)
    name = read.optional(values, "name", key, lambda n, k: read.name(reader, n, k))
    kinds = sorted(_KINDS & values.keys())
    if len(kinds) != 1:
        reader.problem(node, key, f"give exactly one of {', '.join(sorted(_KINDS))}")
        return None
    kind = ChannelKind(kinds[0])
    config_key = join(key, kind.value)
    config: WebhookConfig | SlackConfig | SmtpConfig | AppriseConfig | None
    if kind is ChannelKind.APPRISE:
        config = read_apprise(ctx, values[kind.value], config_key)
    elif kind is ChannelKind.WEBHOOK:
        config = _webhook(ctx, values[kind.value], config_key)
    elif kind is ChannelKind.SLACK:
        config = _slack(ctx, values[kind.value], config_key)
    else:
        config = _email(ctx, values[kind.value], config_key)
    send_resolved = read.optional(values, "send_resolved", key, reader.boolean)
    templates = read.optional(values, "templates", key, lambda n, k: notification(ctx, n, k))
    if name is None or config is None or len(reader.problems) > before:
        return None
    return Channel(
        name=name,
        kind=kind,
        config=config,
        send_resolved=True if send_resolved is None else send_resolved,
        templates=templates,
    )


def notification(ctx: FileContext, node: yaml.Node, key: str) -> NotificationTemplates | None:
    """Reads ``{subject: TEMPLATE, body: TEMPLATE}``."""
    values = ctx.reader.mapping(node, key, {"subject", "body"}, {"subject", "body"})
    if values is None or len(values) != 2:
        return None
    subject = read.template(ctx, values["subject"], join(key, "subject"), TemplateKind.NOTIFICATION)
    body = read.template(ctx, values["body"], join(key, "body"), TemplateKind.NOTIFICATION)
    if subject is None or body is None:
        return None
    return NotificationTemplates(subject, body)


def _webhook(ctx: FileContext, node: yaml.Node, key: str) -> WebhookConfig | None:
    reader = ctx.reader
    values = reader.mapping(node, key, {"url", "auth", "timeout", "signing_secret"}, {"url"})
    if values is None or "url" not in values:
        return None
    url_node = values["url"]
    url: Secret | None
    if isinstance(url_node, yaml.MappingNode):
        # A URL that carries a token goes in the environment or a file, like any secret.
        url = read_secret(reader, url_node, join(key, "url"), ctx.env, ctx.base)
    else:
        text = read.url(reader, url_node, join(key, "url"))
        url = None if text is None else Secret(text, "inline")
    auth = (
        read_auth(reader, values["auth"], join(key, "auth"), ctx.env, ctx.base)
        if "auth" in values
        else None
    )
    timeout = read.optional(
        values, "timeout", key, lambda n, k: read.duration(reader, n, k, timedelta(seconds=1))
    )
    signing = (
        _signing_secret(ctx, values["signing_secret"], join(key, "signing_secret"))
        if "signing_secret" in values
        else None
    )
    if url is None or ("signing_secret" in values and signing is None):
        return None
    return WebhookConfig(url, auth, timeout or _DEFAULT_TIMEOUT, signing)


def _signing_secret(ctx: FileContext, node: yaml.Node, key: str) -> Secret | None:
    """A Standard Webhooks signing secret: ``whsec_`` then base64 of 24 to 64 bytes."""
    secret = read_secret(ctx.reader, node, key, ctx.env, ctx.base)
    if secret is None or not secret.resolved:
        return secret
    problem = signing_secret_problem(secret.value)
    if problem is not None:
        # The value is secret, so the message names only where it came from.
        ctx.reader.problem(node, key, f"the value read from {secret.origin} {problem}")
        return None
    return secret


def signing_secret_problem(value: str) -> str | None:
    """Says what is wrong with a Standard Webhooks secret, or None if it is one."""
    if not value.startswith("whsec_"):
        return "does not start with whsec_ (a Standard Webhooks secret)"
    try:
        raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except ValueError:
        return "is not whsec_ followed by base64"
    if not 24 <= len(raw) <= 64:
        return f"decodes to {len(raw)} bytes; a signing secret has 24 to 64"
    return None


def _slack(ctx: FileContext, node: yaml.Node, key: str) -> SlackConfig | None:
    values = ctx.reader.mapping(
        node, key, {"webhook_url", "signing_secret", "team_id"}, {"webhook_url"}
    )
    if values is None or "webhook_url" not in values:
        return None
    secret = read_secret(
        ctx.reader, values["webhook_url"], join(key, "webhook_url"), ctx.env, ctx.base
    )
    if secret is None:
        return None
    if secret.resolved and not _slack_url(secret.value):
        # The value is secret, so the message names only where it came from.
        ctx.reader.problem(
            values["webhook_url"],
            join(key, "webhook_url"),
            f"the value read from {secret.origin} is not an https:// URL"
            " (or http:// to this host, for a local receiver)",
        )
        return None
    signing: Secret | None = None
    if "signing_secret" in values:
        signing = _slack_signing_secret(ctx, values["signing_secret"], join(key, "signing_secret"))
        if signing is None:
            return None
    team_id: str | None = None
    if "team_id" in values:
        team_id = ctx.reader.string(values["team_id"], join(key, "team_id"))
        if team_id is None:
            return None
        if not _SLACK_TEAM.fullmatch(team_id):
            ctx.reader.problem(
                values["team_id"],
                join(key, "team_id"),
                f"{team_id!r} is not a Slack workspace id (T and capitals or digits, e.g."
                " T024BE7LH; E... for an Enterprise Grid)",
            )
            return None
    return SlackConfig(secret, signing, team_id)


def _slack_url(value: str) -> bool:
    """An https:// URL, or http:// to a loopback address (a local stand-in for Slack)."""
    if value.startswith("https://"):
        return True
    parts = urllib.parse.urlsplit(value)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def _slack_signing_secret(ctx: FileContext, node: yaml.Node, key: str) -> Secret | None:
    """A Slack app's signing secret: hexadecimal digits, 32 of them today."""
    secret = read_secret(ctx.reader, node, key, ctx.env, ctx.base)
    if secret is None or not secret.resolved:
        return secret
    if not _SLACK_SIGNING.fullmatch(secret.value):
        # The value is secret, so the message names only where it came from.
        ctx.reader.problem(
            node,
            key,
            f"the value read from {secret.origin} is not a Slack signing secret"
            " (32 or more hexadecimal digits, from the app's Basic Information page)",
        )
        return None
    return secret


def _email(ctx: FileContext, node: yaml.Node, key: str) -> SmtpConfig | None:
    reader = ctx.reader
    values = reader.mapping(
        node,
        key,
        {"smtp_host", "smtp_port", "security", "from", "username", "password"},
        {"smtp_host", "from"},
    )
    if values is None:
        return None
    host = read.optional(values, "smtp_host", key, reader.string)
    port = read.optional(
        values, "smtp_port", key, lambda n, k: read.integer(reader, n, k, 1, 65535)
    )
    security = read.optional(
        values, "security", key, lambda n, k: reader.choice(n, k, SmtpSecurity, _SECURITY)
    )
    sender = read.optional(values, "from", key, reader.string)
    if sender is not None and "@" not in sender:
        reader.problem(values["from"], join(key, "from"), f"{sender!r} is not an e-mail address")
    username = read.optional(values, "username", key, reader.string)
    password = (
        read_secret(reader, values["password"], join(key, "password"), ctx.env, ctx.base)
        if "password" in values
        else None
    )
    if ("username" in values) != ("password" in values):
        reader.problem(node, key, "give both username and password, or neither")
        return None
    if host is None or sender is None:
        return None
    security = security or SmtpSecurity.STARTTLS
    default_port = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}
    return SmtpConfig(
        host=host,
        port=port or default_port[security],
        security=security,
        sender=sender,
        username=username,
        password=password,
    )
