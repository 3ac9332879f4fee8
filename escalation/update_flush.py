"""Sending a pending update: one outbox entry per recipient already paged.

:func:`flush` turns an escalation's pending update (``escalation.updates``) into
:class:`Notice` outbox entries when it is due, or logs why it sends none (muted,
flapping, ``send_resolved: false``, a channel gone).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.timestamps import micros
from escalation.updates import FLAPS, RESOLUTIONS, Change, Recipient, WhenState
from rules.model import Rules


@dataclass(frozen=True, slots=True)
class Flushed:
    """The state after a pending update went out, its outbox entries and the log lines."""

    when: WhenState
    notices: tuple[Notice, ...]
    log: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Incident:
    """What an update says about its incident (copied from the escalation document)."""

    incident_id: str
    generation: int
    title: str
    state: str
    priority: str | None
    service: str | None
    suppressed: str | None  # why the incident pages nobody now (muted, held, on hold)


def flush(when: WhenState, incident: Incident, rules: Rules, now: datetime) -> Flushed:
    """Sends the pending update if it is due: one outbox entry per recipient paged."""
    if when.due is None or when.due > now:
        return Flushed(when, (), ())
    changes = when.pending
    cleared = replace(when, pending=(), more=0, due=None)
    if incident.suppressed is not None:
        reason = f"{incident.suppressed}: an update of {len(changes)} change(s) not sent"
        return Flushed(cleared, (), (("not_paged", reason),))
    if when.flapping:
        kept = tuple(c for c in changes if c.kind not in FLAPS)
        if len(kept) < len(changes):
            changes = kept
            if not changes:
                reason = "flapping: its alerts' firing and resolved changes are not sent"
                return Flushed(cleared, (), (("not_paged", reason),))
    notices: list[Notice] = []
    log: list[tuple[str, str]] = []
    number = when.sent + 1
    skipped: list[str] = []
    for recipient in when.paged:
        if recipient.since > now:
            continue  # its contact delay has not passed: not paged yet
        channel = rules.channels.get(recipient.channel)
        if channel is None:
            log.append(("not_paged", f"update {number}: channel {recipient.channel} is gone"))
            continue
        told = changes
        if not channel.send_resolved:
            told = tuple(c for c in changes if c.kind not in RESOLUTIONS)
            if not told:
                skipped.append(f"{recipient.person or '-'} on {recipient.channel}")
                continue
        notices.append(Notice(incident, number, recipient, now, told, when.more))
    if skipped:
        names = ", ".join(skipped)
        log.append(("not_paged", f"update {number}: send_resolved is false for {names}"))
    if not notices:
        return Flushed(cleared, (), tuple(log))
    names = ", ".join(f"{n.recipient.person or '-'} on {n.recipient.channel}" for n in notices)
    log.insert(0, ("updated", f"update {number} ({len(changes)} change(s)): {names}"))
    return Flushed(replace(cleared, sent=number, last_sent=now), tuple(notices), tuple(log))


@dataclass(frozen=True, slots=True)
class Notice:
    """An update to one recipient already paged: an outbox entry like a page's.

    Its key, ``incident:update<n>:person:channel``, is idempotent like a page's. Its
    document is a page's plus ``kind`` (``update``, or ``resolved`` once the incident
    resolved) and ``changes`` (what changed since the last notification, oldest first;
    ``more_changes`` counts those past the first ``escalation.updates.CHANGES_KEPT``) and
    ``after_pages``, the recipient's pages: delivery sends the update once one of them
    was delivered, waits while they are on their way, and drops it if none got through
    (as Alertmanager sends nothing resolved to a receiver it never told of the firing).
    """

    incident: Incident
    number: int
    recipient: Recipient
    send_at: datetime
    changes: tuple[Change, ...]
    more: int

    @property
    def key(self) -> str:
        """The idempotency key."""
        person = self.recipient.person or "-"
        return f"{self.incident.incident_id}:update{self.number}:{person}:{self.recipient.channel}"

    @property
    def kind(self) -> str:
        """``resolved`` when the incident resolved, else ``update``."""
        return "resolved" if self.incident.state in ("resolved", "closed") else "update"

    def to_document(self) -> dict[str, Any]:
        """Returns the outbox entry, pending."""
        incident = self.incident
        return {
            "key": self.key,
            "kind": self.kind,
            "incident": incident.incident_id,
            "generation": incident.generation,
            "level": 0,
            "repeat": 0,
            "person": self.recipient.person,
            "channel": self.recipient.channel,
            "address": self.recipient.address,
            "send_at": micros(self.send_at),
            "title": incident.title,
            "state": incident.state,
            "priority": incident.priority,
            "service": incident.service,
            "changes": [c.to_document() for c in self.changes],
            "more_changes": self.more,
            "after_pages": list(self.recipient.pages),
            "status": "pending",
            "attempts": 0,
            "results": [],
        }
