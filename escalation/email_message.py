"""The e-mail of a page: multipart plain text and HTML, with the action links.

The subject and the text are the rules' notification templates (the channel's own,
else the rules' ``templates.notification``, else the built-in text), rendered with the
variables docs/rules.md lists; the HTML part shows the same text escaped (Jinja2
autoescape: alert labels are anyone's text) and the links as buttons. A recipient
person gets signed action links (``escalation.action_links``): Acknowledge while the
incident is triggered, Resolve while it is open; a resolved incident's message has none.

An update about an incident already paged (``escalation.updates``: alerts joining or
resolving, the incident resolved) says so in its subject (``Update:``, ``Resolved:``)
and first line (``Update: alerts joined (2)``). A bundled message
(``escalation.bundling``) is its title (``12 notifications``) and one line per entry it
replaces (at most :data:`BUNDLE_LINES`, then how many more), with no action links: a
link would act on one incident of many.

Headers: ``Message-ID`` is derived from the outbox entry's idempotency key, the same on
every retry, so a mail store can drop the duplicate of an at-least-once delivery;
``References`` names the incident, so a mail client threads its messages;
``Auto-Submitted: auto-generated`` keeps vacation responders quiet.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import jinja2

from escalation.action_links import ActionLinks, LinkAction
from rules import defaults
from rules.channels import Channel, SmtpConfig
from rules.model import Rules
from rules.templates import NotificationTemplates, TemplateCompiler

# The states in which each link is offered (an acknowledged incident needs no acknowledge).
_OFFERED = {
    LinkAction.ACKNOWLEDGE: frozenset({"triggered"}),
    LinkAction.RESOLVE: frozenset({"triggered", "acknowledged", "on_hold"}),
}
_LABELS = {LinkAction.ACKNOWLEDGE: "Acknowledge", LinkAction.RESOLVE: "Resolve"}
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
MAX_SUBJECT = 200
BUNDLE_LINES = 50  # entries a bundled message lists one by one; the rest are counted

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:sans-serif;color:#1b1b1b">
<h2 style="margin:0 0 12px">{{ subject }}</h2>
<p style="white-space:pre-wrap">{{ body }}</p>
<table style="border-collapse:collapse;margin:12px 0">
{%- for name, value in facts %}
<tr><th style="text-align:left;padding:2px 12px 2px 0">{{ name }}</th><td>{{ value }}</td></tr>
{%- endfor %}
</table>
<p>
{%- for label, url in links %}
<a href="{{ url }}" style="display:inline-block;padding:8px 16px;margin-right:8px;\
background:#1f4e99;color:#ffffff;text-decoration:none;border-radius:4px">{{ label }}</a>
{%- endfor %}
</p>
{%- if links %}
<p style="color:#555555;font-size:small">The links act as {{ recipient }}, once each, \
for {{ max_age }}; each opens a page that asks you to confirm.</p>
{%- endif %}
</body></html>
"""
)


def compose(
    channel: Channel,
    entry: Mapping[str, Any],
    *,
    rules: Rules | None,
    links: ActionLinks | None,
    public_url: str,
    now: datetime,
) -> EmailMessage:
    """The message of an outbox entry on an e-mail channel (see the module docstring)."""
    config = channel.config
    if not isinstance(config, SmtpConfig):
        raise ValueError(f"channel {channel.name} is not an e-mail channel")
    person = entry.get("person")
    found = rules.people.get(person) if rules is not None and person else None
    recipient = found.display_name if found is not None else (person or channel.name)
    incident = str(entry["incident"])
    url = f"{public_url.rstrip('/')}/api/v1/incidents/{incident}"
    values = template_values(entry, url, recipient)
    templates = channel_templates(channel, rules)
    fallback = f"[{entry.get('priority') or '-'}] {entry['title']}"
    subject = _one_line(subject_of(entry, templates.subject.render(values, fallback) or fallback))
    body = templates.body.render(values, str(entry["title"]))
    if (update := update_line(entry)) is not None:
        body = f"{update}\n\n{body}"
    if (listed := bundle_text(entry, recipient)) is not None:
        subject, body = _one_line(str(entry["title"])), listed
    actions = action_urls(links, public_url, entry)
    # No "Open" link: the incident's URL is the API's, a 401 in a browser; the action
    # links' pages show the incident (review 11 finding 7).
    shown = [(_LABELS[a], u) for a, u in actions.items()]

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = str(entry.get("address") or "")
    message["Date"] = format_datetime(now)
    domain = config.sender.rpartition("@")[2] or "tocsin"
    message["Message-ID"] = f"<{_digest(str(entry['key']))}@{domain}>"
    message["References"] = f"<incident.{_digest(incident)}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Tocsin-Incident"] = _one_line(incident)
    text = body + "\n\n" + "".join(f"{label}: {u}\n" for label, u in shown)
    message.set_content(text)
    facts = [
        ("Incident", incident),
        ("State", entry.get("state") or ""),
        ("Priority", entry.get("priority") or "none"),
        ("Service", entry.get("service") or "none"),
    ]
    if listed is not None:
        facts = []  # a bundle's entries are each listed in its text
    max_age = "" if links is None else _duration(links.max_age.total_seconds())
    html = _HTML.render(
        subject=subject,
        body=body,
        facts=facts,
        links=shown,
        recipient=recipient,
        max_age=max_age,
    )
    message.add_alternative(html, subtype="html")
    return message


def action_urls(
    links: ActionLinks | None, public_url: str, entry: Mapping[str, Any]
) -> dict[LinkAction, str]:
    """The action links the entry's recipient gets (none for a channel paged as such)."""
    person = entry.get("person")
    if links is None or not person or entry.get("kind") == "bundle":
        return {}
    state = str(entry.get("state") or "")
    made = links.links(public_url, str(entry["incident"]), str(person))
    return {a: made[a.value] for a in LinkAction if state in _OFFERED[a]}


def bundle_text(entry: Mapping[str, Any], recipient: str) -> str | None:
    """A bundled message's text: one line per entry it replaces (None: not a bundle)."""
    if entry.get("kind") != "bundle":
        return None
    items = list(entry.get("bundle") or ())
    lines = [
        f"- [{item.get('priority') or '-'}] {_one_line(str(item.get('title', '')))}"
        f" ({str(item.get('state', '')).replace('_', ' ')}), incident {item.get('incident')}"
        for item in items[:BUNDLE_LINES]
    ]
    if len(items) > BUNDLE_LINES:
        lines.append(f"... and {len(items) - BUNDLE_LINES} more")
    head = f"{len(items)} notifications for {recipient}, bundled (too many within the window):"
    return "\n".join([head, *lines])


def subject_of(entry: Mapping[str, Any], subject: str) -> str:
    """The rendered subject, marked as an update or a resolution when the entry is one."""
    kind = entry.get("kind")
    if kind == "update":
        return f"Update: {subject}"
    if kind == "resolved":
        return f"Resolved: {subject}"
    return subject


def update_line(entry: Mapping[str, Any]) -> str | None:
    """What changed, for an update (``escalation.updates``): ``Update: alerts joined (2)``."""
    if entry.get("kind") not in ("update", "resolved"):
        return None
    counts: dict[str, int] = {}
    for change in entry.get("changes") or ():
        kind = str(change.get("kind", "change")).replace("_", " ")
        counts[kind] = counts.get(kind, 0) + 1
    listed = ", ".join(f"{kind} ({n})" if n > 1 else kind for kind, n in counts.items())
    more = int(entry.get("more_changes") or 0)
    text = f"Update: {listed or str(entry.get('state') or '').replace('_', ' ')}"
    return text + (f" (and {more} more)" if more else "")


def channel_templates(channel: Channel, rules: Rules | None) -> NotificationTemplates:
    """The channel's own notification text, else the rules', else the built-in one."""
    if channel.templates is not None:
        return channel.templates
    if rules is not None:
        return rules.templates.notification
    return _builtin()


def template_values(entry: Mapping[str, Any], url: str, recipient: str) -> dict[str, object]:
    """The notification templates' variables for an outbox entry (docs/rules.md)."""
    names = ("category", "service", "team", "impact", "urgency", "priority", "opened_at")
    incident: dict[str, object] = {name: entry.get(name) or "" for name in names}
    incident |= {
        "id": entry["incident"],
        "title": entry["title"],
        "state": entry.get("state") or "",
        "url": url,
    }
    labels = entry.get("labels")
    annotations = entry.get("annotations")
    return {
        "incident": incident,
        "labels": dict(labels) if isinstance(labels, Mapping) else {},
        "annotations": dict(annotations) if isinstance(annotations, Mapping) else {},
        "alert_count": int(entry.get("alert_count") or 0),
        "level": int(entry.get("level") or 0) + 1,
        "recipient": recipient,
    }


_BUILTIN: list[NotificationTemplates] = []


def _builtin() -> NotificationTemplates:
    """The built-in notification text, compiled once."""
    if not _BUILTIN:
        _BUILTIN.append(defaults.incident_templates(TemplateCompiler()).notification)
    return _BUILTIN[0]


def _one_line(text: str) -> str:
    """Header-safe text: control characters (a CR LF would inject headers) become spaces."""
    flat = _CONTROLS.sub(" ", text).strip()
    return flat if len(flat) <= MAX_SUBJECT else flat[: MAX_SUBJECT - 1] + "…"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} hours" if hours >= 1 else f"{seconds / 60:g} minutes"
