"""What escalation writes into incidents' timelines, and what it tells the metrics.

The stage and delivery write :class:`~core.store.events.TimelineNote` entries in the
same commit as their own effects (``commit_events(..., notes=)``, or
``CorrelationCommit.notes``): a note is in the timeline if and only if what it tells
happened. Notes change no incident and are not events of the incident event stream.

Kinds and their ``detail`` (every detail is JSON; times are RFC 3339 strings):

- ``paged`` / ``page_scheduled``: an outbox entry written, to be sent now / later (a
  contact method's delay): ``key``, ``person`` (None: a channel paged as such),
  ``channel``, ``level`` (from 1), ``repeat``, ``send_at``, ``message`` (``page``, or
  an update's ``update`` / ``resolved``).
- ``not_paged``: ``reason`` (the stage's words) and ``code``, one of
  :data:`NOT_PAGED_CODES` (the metric's label).
- ``escalation_started``, ``escalation_stopped``, ``escalation_restarted``,
  ``rules_reloaded``, and ``escalation_<what>`` for any other decision of the stage:
  ``decision`` (the stage's word) and ``reason``.
- ``delivery_succeeded`` / ``delivery_failed``: ``key``, ``person``, ``channel``,
  ``channel_kind``, ``attempt`` (from 1), ``outcome`` (``delivered``, ``retrying``,
  ``failed``), ``status`` (the receiver's HTTP status or None), ``error``,
  ``will_retry_at`` (None unless retrying), ``seconds`` (the attempt's duration),
  ``message``; an entry sent in a bundled message (``escalation.bundling``) also has
  ``bundled_in``, the bundle's key (the attempt is the bundle's, one message for all).
- ``channel_paused`` / ``channel_resumed``: ``channel``, ``reason``, ``until``.
- ``sla_warning`` / ``sla_breached``: ``clock`` (``acknowledge``/``resolve``),
  ``threshold`` (a fraction, 1.0 for the breach), ``target``, ``due``.

The builders: :func:`stage_notes` (a pass of the stage: its decisions, and its new
outbox entries where it paged), :func:`delivery_notes`, :func:`channel_notes`,
:func:`sla_note`; :func:`describe` says in one line what a note tells, for the CLI and
the closure report. :class:`EscalationMetrics` is what the stage and delivery tell
after a commit landed (``tocsin.escalation_metrics`` implements it on /metrics);
:data:`NO_METRICS` tells nobody.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from core.store.events import ConsumerWrite, TimelineNote
from core.timestamps import format_rfc3339, from_micros
from escalation.page import OUTBOX
from escalation.state import Decision, Escalation

STAGE_ACTOR = "escalation"
DELIVERY_ACTOR = "delivery"

PAGED = "paged"
PAGE_SCHEDULED = "page_scheduled"
NOT_PAGED = "not_paged"
DELIVERY_SUCCEEDED = "delivery_succeeded"
DELIVERY_FAILED = "delivery_failed"
CHANNEL_PAUSED = "channel_paused"
CHANNEL_RESUMED = "channel_resumed"
SLA_WARNING = "sla_warning"
SLA_BREACHED = "sla_breached"

# The stage's decisions (escalation.state.Decision.what) by the note kind they become.
# "paged" and "updated" become one note per outbox entry instead (page_notes).
_DECISION_KINDS = {
    "started": "escalation_started",
    "not_paged": NOT_PAGED,
    "stopped": "escalation_stopped",
    "acknowledged": "escalation_stopped",
    "restarted": "escalation_restarted",
    "unmuted": "escalation_restarted",
    "rules_reloaded": "rules_reloaded",
}
_PER_ENTRY = frozenset({"paged", "updated"})

# Why nobody was paged, from the stage's words: (pattern, code), first match wins.
_NOT_PAGED = (
    (re.compile(r"^muted\b"), "muted"),
    (re.compile(r"^held\b"), "held"),
    (re.compile(r"^on hold\b"), "on_hold"),
    (re.compile(r"support hours"), "support_hours"),
    (re.compile(r"flapping"), "flapping"),
    (re.compile(r"no longer in the rules|is gone"), "not_in_rules"),
    (re.compile(r"reaches nobody"), "nobody_on_call"),
    (re.compile(r"no contact method"), "no_contact_method"),
    (re.compile(r"send_resolved"), "send_resolved_off"),
    (re.compile(r"bundle"), "bundled"),
)
NOT_PAGED_CODES = (*dict.fromkeys(code for _, code in _NOT_PAGED), "other")

# An error is kept short in the timeline: a receiver's whole answer has no place there.
_ERROR_CHARS = 300
# A receiver's error text is not Tocsin's: no control character of it reaches a reader.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class EscalationMetrics(Protocol):
    """Counts what escalation did, told after the commit that recorded it landed."""

    def observe(self, notes: Sequence[TimelineNote]) -> None:
        """Counts the notes: pages, decisions not to page, deliveries, SLA events, pauses."""
        ...


class _NoMetrics:
    """Tells nobody."""

    def observe(self, notes: Sequence[TimelineNote]) -> None:
        """Does nothing."""


NO_METRICS: EscalationMetrics = _NoMetrics()


def not_paged_code(reason: str) -> str:
    """The code (a metric label) of a decision not to page, from its reason."""
    for pattern, code in _NOT_PAGED:
        if pattern.search(reason):
            return code
    return "other"


def new_decisions(before: Escalation | None, after: Escalation | None) -> tuple[Decision, ...]:
    """The decisions ``after``'s log holds that ``before``'s did not (the log is capped).

    The log only grows at its end and drops its oldest entries: the new entries are
    those after the longest start of ``after``'s log that ends ``before``'s.
    """
    if after is None:
        return ()
    old, new = (() if before is None else before.log), after.log
    for kept in range(min(len(old), len(new)), 0, -1):
        if new[:kept] == old[len(old) - kept :]:
            return new[kept:]
    return new


def stage_notes(
    before: Mapping[str, Escalation],
    after: Mapping[str, Escalation],
    outbox: Sequence[ConsumerWrite],
    now: datetime,
) -> list[TimelineNote]:
    """The notes of one pass of the stage: each escalation's new decisions, in order, the
    new outbox entries of an incident where its ``paged`` (or ``updated``) decision is.

    ``before`` and ``after`` are the escalations at the start and at the end of the
    pass, by incident; ``outbox`` the outbox entries the pass writes.
    """
    entries: dict[str, list[TimelineNote]] = {}
    for note in page_notes(outbox, now):
        entries.setdefault(note.incident_id, []).append(note)
    notes: list[TimelineNote] = []
    for key, escalation in after.items():
        for decision in new_decisions(before.get(key), escalation):
            if decision.what in _PER_ENTRY:
                notes += entries.pop(key, [])
            else:
                notes += decision_notes(key, (decision,), now)
    # Entries of no paging decision (none expected): noted all the same.
    return notes + [note for rest in entries.values() for note in rest]


def decision_notes(
    incident_id: str, decisions: Iterable[Decision], now: datetime
) -> list[TimelineNote]:
    """The notes of the stage's decisions (paging ones are noted per entry instead).

    A note is timed ``now``, when the pass wrote it, as its page notes are, not at the
    change it answers (an acknowledgement's time): the timeline reads oldest first, and
    a note dated before the entries written ahead of it would read out of order.
    """
    notes = []
    for decision in decisions:
        if decision.what in _PER_ENTRY:
            continue
        kind = _DECISION_KINDS.get(decision.what, f"escalation_{decision.what}")
        detail: dict[str, Any] = {"decision": decision.what, "reason": decision.reason}
        if kind == NOT_PAGED:
            detail["code"] = not_paged_code(decision.reason)
        notes.append(TimelineNote(incident_id, kind, now, STAGE_ACTOR, detail))
    return notes


def page_notes(writes: Iterable[ConsumerWrite], now: datetime) -> list[TimelineNote]:
    """One note per new outbox entry: ``paged`` if it is sent now, else ``page_scheduled``."""
    notes = []
    for write in writes:
        entry = write.document
        if write.collection != OUTBOX or entry is None:
            continue
        send_at = from_micros(entry["send_at"]) if "send_at" in entry else now
        kind = PAGED if send_at <= now else PAGE_SCHEDULED
        detail = {
            **_recipient(write.key, entry),
            "level": int(entry.get("level", 0)) + 1,
            "repeat": entry.get("repeat", 0),
            "send_at": format_rfc3339(send_at),
        }
        notes += [
            TimelineNote(incident_id, kind, now, STAGE_ACTOR, detail)
            for incident_id in _incidents(entry)
        ]
    return notes


def delivery_notes(
    key: str,
    entry: Mapping[str, Any],
    channel_kind: str,
    result: Mapping[str, Any],
    now: datetime,
) -> list[TimelineNote]:
    """The notes of one delivery attempt: ``result`` has ``attempt``, ``outcome``,
    ``status``, ``error``, ``will_retry_at`` (a datetime or None) and ``seconds``, and
    ``bundled_in`` if the entry went in a bundled message."""
    outcome = result["outcome"]
    retry: datetime | None = result.get("will_retry_at")
    error = result.get("error")
    detail = {
        **_recipient(key, entry),
        "channel_kind": channel_kind,
        "attempt": result["attempt"],
        "outcome": outcome,
        "status": result.get("status"),
        "error": None if error is None else _CONTROLS.sub(" ", str(error))[:_ERROR_CHARS],
        "will_retry_at": None if retry is None else format_rfc3339(retry),
        "seconds": round(float(result.get("seconds", 0.0)), 6),
    }
    if result.get("bundled_in") is not None:
        detail["bundled_in"] = str(result["bundled_in"])
    kind = DELIVERY_SUCCEEDED if outcome == "delivered" else DELIVERY_FAILED
    return [
        TimelineNote(incident_id, kind, now, DELIVERY_ACTOR, detail)
        for incident_id in _incidents(entry)
    ]


def channel_notes(
    incident_ids: Iterable[str],
    channel: str,
    paused: bool,
    reason: str,
    until: datetime | None,
    now: datetime,
) -> list[TimelineNote]:
    """``channel_paused`` (or ``channel_resumed``) on the timelines of the incidents waiting."""
    kind = CHANNEL_PAUSED if paused else CHANNEL_RESUMED
    detail = {
        "channel": channel,
        "reason": reason,
        "until": None if until is None else format_rfc3339(until),
    }
    return [
        TimelineNote(incident_id, kind, now, DELIVERY_ACTOR, detail)
        for incident_id in dict.fromkeys(incident_ids)
    ]


def sla_note(
    incident_id: str,
    clock: str,
    threshold: float,
    target: str,
    due: datetime,
    now: datetime,
    actor: str = "sla",
) -> TimelineNote:
    """``sla_warning`` (``threshold`` under 1) or ``sla_breached`` of one SLA clock."""
    kind = SLA_BREACHED if threshold >= 1 else SLA_WARNING
    detail = {"clock": clock, "threshold": threshold, "target": target, "due": format_rfc3339(due)}
    return TimelineNote(incident_id, kind, now, actor, detail)


def describe(kind: str, detail: Mapping[str, Any]) -> str | None:
    """One line saying what a note of ``kind`` tells (None: not a note of escalation's).

    Plain text; a reader escapes it for where it shows it (HTML, a terminal).
    """
    who = f"{detail.get('person') or 'channel'} on {detail.get('channel')}"
    if kind in (PAGED, PAGE_SCHEDULED):
        line = f"{who}, level {detail.get('level')}"
        if detail.get("message", "page") != "page":
            line += f" ({detail.get('message')})"
        return line if kind == PAGED else f"{line}, at {detail.get('send_at')}"
    if kind in (DELIVERY_SUCCEEDED, DELIVERY_FAILED):
        line = f"{who} ({detail.get('channel_kind')}): {detail.get('outcome')}"
        line += f", attempt {detail.get('attempt')}"
        if detail.get("status") is not None:
            line += f", HTTP {detail.get('status')}"
        if detail.get("error"):
            line += f": {detail.get('error')}"
        if detail.get("will_retry_at"):
            line += f"; retry at {detail.get('will_retry_at')}"
        return line
    if kind in (CHANNEL_PAUSED, CHANNEL_RESUMED):
        line = f"channel {detail.get('channel')}: {detail.get('reason')}"
        return line + (f" (until {detail['until']})" if detail.get("until") else "")
    if kind in (SLA_WARNING, SLA_BREACHED):
        share = float(detail.get("threshold") or 0) * 100
        return (
            f"time to {detail.get('clock')} at {share:.0f}% of {detail.get('target')}"
            f" (due {detail.get('due')})"
        )
    if kind == NOT_PAGED or kind in _DECISION_KINDS.values() or kind.startswith("escalation_"):
        reason = detail.get("reason")
        return None if reason is None else str(reason)
    return None


def _recipient(key: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Who an outbox entry goes to, and what it is."""
    return {
        "key": key,
        "person": entry.get("person"),
        "channel": entry.get("channel"),
        "message": entry.get("kind", "page"),
    }


def _incidents(entry: Mapping[str, Any]) -> list[str]:
    """The incidents an outbox entry is about (a bundle lists several)."""
    ids = [entry["incident"]] if isinstance(entry.get("incident"), str) else []
    listed = entry.get("incidents")
    if isinstance(listed, list):
        ids += [i for i in listed if isinstance(i, str)]
    return list(dict.fromkeys(ids))
