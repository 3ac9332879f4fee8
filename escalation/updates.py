"""Updates to those already paged, bounded by the route's ``group_interval``, and flapping.

Once an incident has paged someone, its changes (alerts joining, firing again,
resolving, expiring; the incident resolving) are news to the people paged. As
Alertmanager does for a group, they are sent at most once per ``group_interval``: the
first change after a notification is due ``group_interval`` after that notification (at
once if that has passed), and every change until then joins the same pending update, so
a storm of joins is one message. The update goes to each recipient already paged (a page
whose send time had come; one whose contact delay had not when escalation stopped was
never sent and gets nothing), on the channel it was paged on.

``send_resolved`` is per channel: a channel with ``send_resolved: false`` is sent no
update made only of resolutions (alerts resolving, the incident resolving); the decision
not to send is logged with that reason.

Flapping: a flapping incident (the correlator marks it) **pages once**. Its alerts'
firing/resolved changes are not sent as updates (logged why), and when it reopens after
resolving, escalation goes on from where it was rather than paging the first level
again (see ``escalation.decide``).

Everything here is pure: :class:`WhenState` is part of the escalation document
(``escalation.state``), and the functions return new states and outbox entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import from_micros, micros
from escalation.page import Page
from rules.routing import DEFAULT_GROUP_INTERVAL

# Changes kept per pending update; past it only the count grows (a storm is one message).
CHANGES_KEPT = 20
# Page keys kept per recipient (a policy repeating ten times pages a person ten times).
PAGES_KEPT = 10
# Event kinds that are news about an open incident's alerts.
ALERT_CHANGES = frozenset({"alerts_joined", "alert_firing", "alert_resolved", "alert_expired"})
# Kinds that only say something resolved (not sent where send_resolved is false).
RESOLUTIONS = frozenset({"alert_resolved", "alert_expired", "resolved"})
# Kinds a flapping incident does not send: its alerts going back and forth.
FLAPS = frozenset({"alert_firing", "alert_resolved"})


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone (or a channel as such, ``person`` None) paged, on one channel, from ``since``.

    ``pages`` are the outbox keys of the pages it was sent (the latest
    :data:`PAGES_KEPT`): delivery sends it an update only once one of them got through.
    """

    person: str | None
    channel: str
    address: str
    since: datetime
    pages: tuple[str, ...] = ()

    def to_document(self) -> list[Any]:
        """Returns the recipient as JSON-ready values."""
        return [self.person, self.channel, self.address, micros(self.since), list(self.pages)]

    @classmethod
    def from_document(cls, raw: Sequence[Any]) -> Recipient:
        """Reads back what :meth:`to_document` wrote."""
        pages = tuple(raw[4]) if len(raw) > 4 else ()
        return cls(raw[0], raw[1], raw[2], from_micros(raw[3]), pages)


@dataclass(frozen=True, slots=True)
class Change:
    """One change of the incident waiting in the pending update."""

    at: datetime
    kind: str
    alerts: tuple[str, ...] = ()  # the fingerprints it concerns (the first few)

    def to_document(self) -> dict[str, Any]:
        """Returns the change as JSON-ready values (as notifiers see it)."""
        return {"at": micros(self.at), "kind": self.kind, "alerts": list(self.alerts)}

    @classmethod
    def from_document(cls, raw: Mapping[str, Any]) -> Change:
        """Reads back what :meth:`to_document` wrote."""
        return cls(from_micros(raw["at"]), raw["kind"], tuple(raw["alerts"]))


@dataclass(frozen=True, slots=True)
class WhenState:
    """What the escalation knows for updates: who was paged, what changed since, when next."""

    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    flapping: bool = False
    paged: tuple[Recipient, ...] = ()
    last_sent: datetime | None = None  # the last page or update sent
    pending: tuple[Change, ...] = ()
    more: int = 0  # changes past CHANGES_KEPT in the pending update
    due: datetime | None = None  # when the pending update goes out
    sent: int = 0  # updates sent so far (numbers their outbox keys)
    # What support hours look at besides service and priority (escalation.support_hours).
    team: str | None = None
    urgency: int | None = None

    def to_document(self) -> dict[str, Any]:
        """Returns the state as JSON-ready values."""
        return {
            "group_interval": self.group_interval.total_seconds(),
            "flapping": self.flapping,
            "paged": [r.to_document() for r in self.paged],
            "last_sent": None if self.last_sent is None else micros(self.last_sent),
            "pending": [c.to_document() for c in self.pending],
            "more": self.more,
            "due": None if self.due is None else micros(self.due),
            "sent": self.sent,
            "team": self.team,
            "urgency": self.urgency,
        }

    @classmethod
    def from_document(cls, raw: Mapping[str, Any] | None) -> WhenState:
        """Reads back what :meth:`to_document` wrote (None: a document from before)."""
        if raw is None:
            return cls()
        return cls(
            timedelta(seconds=raw["group_interval"]),
            raw["flapping"],
            tuple(Recipient.from_document(r) for r in raw["paged"]),
            None if raw["last_sent"] is None else from_micros(raw["last_sent"]),
            tuple(Change.from_document(c) for c in raw["pending"]),
            raw["more"],
            None if raw["due"] is None else from_micros(raw["due"]),
            raw["sent"],
            raw.get("team"),
            raw.get("urgency"),
        )


def paged(when: WhenState, pages: Iterable[Page], now: datetime) -> WhenState:
    """Records the recipients of ``pages`` (each from its send time) and the page as sent."""
    recipients = {(r.person, r.channel): r for r in when.paged}
    added: list[Recipient] = []
    for p in pages:
        known = recipients.get((p.person, p.channel))
        if known is None:
            recipient = Recipient(p.person, p.channel, p.address, p.send_at, (p.key,))
            added.append(recipient)
        else:
            recipient = replace(known, pages=(*known.pages, p.key)[-PAGES_KEPT:])
        recipients[(p.person, p.channel)] = recipient
    if not pages and when.last_sent is not None:
        return when
    first = min((r.since for r in added), default=now)
    last = first if when.last_sent is None else max(when.last_sent, first)
    return replace(when, paged=tuple(recipients.values()), last_sent=last)


def stopped(when: WhenState, at: datetime) -> WhenState:
    """Forgets recipients whose contact delay had not passed when escalation stopped at ``at``.

    Their pages are of a stale generation now and are dropped at delivery: never sent.
    """
    kept = tuple(r for r in when.paged if r.since <= at)
    return when if len(kept) == len(when.paged) else replace(when, paged=kept)


def changed(when: WhenState, kind: str, at: datetime, detail: Mapping[str, Any]) -> WhenState:
    """Adds one change to the pending update, due ``group_interval`` after the last send.

    Nothing is pending before anyone was paged: the first page tells it all.
    """
    if not when.paged:
        return when
    change = Change(at, kind, _fingerprints(detail))
    pending, more = when.pending, when.more
    if len(pending) < CHANGES_KEPT:
        pending = (*pending, change)
    else:
        more += 1
    due = when.due
    if due is None:
        earliest = at if when.last_sent is None else when.last_sent + when.group_interval
        due = max(at, earliest)
    return replace(when, pending=pending, more=more, due=due)


def _fingerprints(detail: Mapping[str, Any]) -> tuple[str, ...]:
    """The alerts an event names: one ``fingerprint``, or the first of ``alerts``."""
    fingerprint = detail.get("fingerprint")
    if isinstance(fingerprint, str):
        return (fingerprint,)
    alerts = detail.get("alerts")
    if isinstance(alerts, list):
        found = (a.get("fingerprint") for a in alerts[:CHANGES_KEPT] if isinstance(a, dict))
        return tuple(f for f in found if isinstance(f, str))
    return ()
