"""The Slack message about an incident: Block Kit blocks built with slack-sdk's models.

One shape serves a page, an update (acknowledged, resolved) and the message Slack shows
after someone pressed a button::

    {"text": "[P2] High latency on web-1",              fallback (notifications)
     "blocks": [
       {"type": "header", "text": {"type": "plain_text", "text": SUBJECT, "emoji": true}},
       {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Priority*\\nP2"},
                                      {"type": "mrkdwn", "text": "*Service*\\ncheckout"},
                                      {"type": "mrkdwn", "text": "*State*\\ntriggered"}]},
       {"type": "section", "text": {"type": "mrkdwn", "text": BODY, "verbatim": true}},
       {"type": "context", "elements": [{"type": "mrkdwn", "text": NOTE, "verbatim": true}]},
       {"type": "actions", "block_id": "tocsin:<channel>", "elements": [
          {"type": "button", "action_id": "acknowledge", "value": ID, "style": "primary", ...},
          {"type": "button", "action_id": "resolve", "value": ID, "style": "danger", ...}]}]}

The context block (who is paged, who acted) is there only when there is something to
say; the actions block only while the incident is open and buttons are on. There is no
Open button: the incident's URL is the API's (a 401 in a browser, an API key needed),
and a signed link would be usable by everyone who reads the Slack channel. The subject
and body are the rules' notification templates. Every value that comes from an alert or
an incident (titles, labels, names) is escaped for mrkdwn (``&``, ``<``, ``>``) before a
template sees it, and mrkdwn texts are ``verbatim``, so an alert cannot add a link, a
mention (``<!channel>``, ``<@U…>``) or an auto-linked URL; the template's own text is the
rules author's and keeps its formatting. The header is plain text, which Slack never
parses for links or mentions, so it gets the values unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from rules.templates import NotificationTemplates

ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
OPEN = "open"  # the Open button of messages sent before it was dropped: acts nothing
# The actions block's id: the channel's name follows, so an answer knows its channel.
BLOCK_PREFIX = "tocsin:"
# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
_HEADER = 150
_SECTION = 3000
_FIELD = 2000
_FALLBACK = 3000
_OPEN_STATES = frozenset({"triggered", "acknowledged", "on_hold"})
# A Slack user id (U…, W…): such an address is mentioned, anything else is shown as text.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# An entity cut in half at the end of a shortened text.
_CUT_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Escapes Slack's mrkdwn control characters, so text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(address: str) -> str:
    """How a contact's address appears in mrkdwn: a mention for a user id, else escaped text."""
    bare = address.removeprefix("@")
    if _USER_ID.fullmatch(bare):
        return f"<@{bare}>"
    return escape(address)


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What a message says about an incident (values as stored, not yet escaped)."""

    id: str
    title: str
    state: str
    priority: str | None
    service: str | None
    url: str
    category: str | None = None
    team: str | None = None
    impact: str | None = None
    urgency: str | None = None
    opened_at: str | None = None
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    alert_count: int = 0

    @property
    def is_open(self) -> bool:
        """Whether the incident can still be acknowledged or resolved."""
        return self.state in _OPEN_STATES


@dataclass(frozen=True, slots=True)
class Texts:
    """The rendered notification text: the subject, plain and escaped, and the body."""

    subject: str  # plain text, for the header
    subject_mrkdwn: str  # for the fallback text
    body: str  # mrkdwn


def render_texts(
    templates: NotificationTemplates, facts: IncidentFacts, level: int, recipient: str
) -> Texts:
    """Renders the templates, once with raw values (header) and once with escaped ones."""
    plain = _template_values(facts, level, recipient, lambda s: s)
    escaped = _template_values(facts, level, recipient, escape)
    fallback = f"[{facts.priority or '-'}] {facts.title}"
    return Texts(
        subject=templates.subject.render(plain, fallback) or fallback,
        subject_mrkdwn=templates.subject.render(escaped, escape(fallback)) or escape(fallback),
        body=templates.body.render(escaped, escape(facts.title)),
    )


def incident_message(
    facts: IncidentFacts, texts: Texts, channel: str, note: str | None, buttons: bool
) -> dict[str, Any]:
    """The message (``text`` and ``blocks``); ``note`` is mrkdwn the caller escaped."""
    fields = [
        MarkdownTextObject(text=_fit(f"*{name}*\n{escape(value or '-')}", _FIELD))
        for name, value in (
            ("Priority", facts.priority),
            ("Service", facts.service),
            ("State", facts.state.replace("_", " ")),
        )
    ]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_cut(texts.subject, _HEADER), emoji=True)),
        SectionBlock(fields=fields),
    ]
    if texts.body.strip():
        body = MarkdownTextObject(text=_fit(texts.body, _SECTION), verbatim=True)
        blocks.append(SectionBlock(text=body))
    if note:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=_fit(note, _SECTION), verbatim=True)])
        )
    if buttons and facts.is_open:
        blocks.append(_actions(facts, channel))
    return {
        "text": _fit(texts.subject_mrkdwn, _FALLBACK),
        "blocks": [block.to_dict() for block in blocks],
    }


def bundle_message(title: str, items: list[IncidentFacts], note: str | None) -> dict[str, Any]:
    """A bundled message: one line per incident, named by its id; no buttons, no links.

    Buttons would act on one incident of many and replace the whole list; a link would
    be the API's URL, which a browser cannot use. The id finds the incident
    (``tocsin incidents show ID``).
    """
    lines = [
        f"• {escape(_labelled(item))} ({escape(item.state.replace('_', ' '))}),"
        f" incident {escape(item.id)}"
        for item in items
    ]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_cut(title, _HEADER)))]
    if lines:
        text = _fit_lines(lines, _SECTION)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)))
    if note:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=_fit(note, _SECTION), verbatim=True)])
        )
    return {"text": _fit(escape(title), _FALLBACK), "blocks": [b.to_dict() for b in blocks]}


def _labelled(item: IncidentFacts) -> str:
    """``[P2] title``: how an incident is named in a list."""
    return f"[{item.priority or '-'}] {item.title}"


def _fit_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in ``limit``, then how many were left out."""
    kept: list[str] = []
    size = 0
    for n, line in enumerate(lines):
        more = f"… and {len(lines) - n} more"
        if size + len(line) + 1 + len(more) > limit:
            kept.append(more)
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _actions(facts: IncidentFacts, channel: str) -> ActionsBlock:
    """Acknowledge (while triggered) and Resolve (with a confirmation)."""
    elements: list[ButtonElement] = []
    if facts.state == "triggered":
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Acknowledge"),
                action_id=ACKNOWLEDGE,
                value=facts.id,
                style="primary",
            )
        )
    elements.append(
        ButtonElement(
            text=PlainTextObject(text="Resolve"),
            action_id=RESOLVE,
            value=facts.id,
            style="danger",
            confirm=ConfirmObject(
                title=PlainTextObject(text="Resolve the incident?"),
                text=PlainTextObject(text=_cut(facts.title, 300)),
                confirm=PlainTextObject(text="Resolve"),
                deny=PlainTextObject(text="Cancel"),
            ),
        )
    )
    return ActionsBlock(block_id=_cut(BLOCK_PREFIX + channel, 255), elements=elements)


def _template_values(
    facts: IncidentFacts, level: int, recipient: str, convert: Any
) -> dict[str, object]:
    """The notification templates' variables, each string passed through ``convert``."""
    incident = {
        "id": facts.id,
        "title": facts.title,
        "state": facts.state,
        "category": facts.category or "",
        "service": facts.service or "",
        "team": facts.team or "",
        "impact": facts.impact or "",
        "urgency": facts.urgency or "",
        "priority": facts.priority or "",
        "opened_at": facts.opened_at or "",
        "url": facts.url,
    }
    return {
        "incident": {name: convert(value) for name, value in incident.items()},
        "labels": {convert(k): convert(v) for k, v in (facts.labels or {}).items()},
        "annotations": {convert(k): convert(v) for k, v in (facts.annotations or {}).items()},
        "alert_count": facts.alert_count,
        "level": level,
        "recipient": convert(recipient),
    }


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, ending in an ellipsis if it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(mrkdwn: str, limit: int) -> str:
    """Escaped text shortened to ``limit`` without leaving half an entity (``&am``)."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    return _CUT_ENTITY.sub("", mrkdwn[: limit - 1]) + "…"
