"""Prometheus metrics of paging, counted from the timeline notes escalation commits.

- ``tocsin_notifications_total{channel_kind,outcome}``: messages sent, by the outcome of
  each attempt (``delivered``, ``retrying``: a transient failure retried later,
  ``failed``: given up); a bundled message counts once, and each outbox entry it
  delivered counts under ``bundled`` (so ``delivered`` is what receivers got, and
  ``delivered`` plus ``bundled`` minus the bundles is what was paged);
- ``tocsin_notification_delivery_seconds{channel_kind}``: how long each attempt took
  (the notifier's call, from request to answer or error), a bundle's once;
- ``tocsin_escalation_pages_total``: outbox entries the escalation and SLA stages wrote
  (pages, updates, SLA pages), sent now or scheduled after a contact method's delay;
- ``tocsin_escalation_not_paged_total{reason}``: decisions not to page, by code
  (escalation.timeline.NOT_PAGED_CODES: muted, held, on_hold, support_hours, ...);
- ``tocsin_sla_events_total{clock,kind}``: SLA warnings and breaches (``kind``
  ``warning`` or ``breach``; ``clock`` ``acknowledge`` or ``resolve``);
- ``tocsin_channel_paused{channel}``: 1 while a channel is paused after repeated
  failures, 0 once it is resumed.

The stage and delivery tell :meth:`EscalationMetrics.observe` the notes of each commit
once it landed (escalation.timeline.EscalationMetrics), so a commit that was refused or
a process killed before it counts nothing, and what a commit recorded is counted once,
by the replica that committed it: sum the counters over replicas. The ``record_*``
methods count the same things for a caller that writes no note.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from core.store.events import TimelineNote
from escalation.timeline import (
    CHANNEL_PAUSED,
    CHANNEL_RESUMED,
    DELIVERY_FAILED,
    DELIVERY_SUCCEEDED,
    NOT_PAGED,
    PAGE_SCHEDULED,
    PAGED,
    SLA_BREACHED,
    SLA_WARNING,
)

OUTCOMES = ("delivered", "retrying", "failed", "bundled")
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_UNKNOWN = "unknown"


class EscalationMetrics:
    """The paging metrics, registered in the application's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "tocsin_notifications_total",
            "Notification messages sent, by channel kind and outcome; "
            "entries delivered in a bundled message count under outcome bundled.",
            ["channel_kind", "outcome"],
            registry=registry,
        )
        self.delivery_seconds = Histogram(
            "tocsin_notification_delivery_seconds",
            "How long one notification delivery attempt took.",
            ["channel_kind"],
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        self.pages = Counter(
            "tocsin_escalation_pages_total",
            "Notifications the escalation and SLA stages put in the outbox (pages, updates).",
            registry=registry,
        )
        self.not_paged = Counter(
            "tocsin_escalation_not_paged_total",
            "Decisions not to page, by reason.",
            ["reason"],
            registry=registry,
        )
        self.sla_events = Counter(
            "tocsin_sla_events_total",
            "SLA warnings and breaches, by clock (acknowledge, resolve) and kind.",
            ["clock", "kind"],
            registry=registry,
        )
        self.channel_paused = Gauge(
            "tocsin_channel_paused",
            "1 while a notification channel is paused after repeated failures.",
            ["channel"],
            registry=registry,
        )

    def record_delivery(self, channel_kind: str, outcome: str, seconds: float) -> None:
        """Counts one delivery attempt and observes its duration."""
        self.notifications.labels(channel_kind, outcome).inc()
        self.delivery_seconds.labels(channel_kind).observe(max(seconds, 0.0))

    def record_bundled(self, channel_kind: str, count: int = 1) -> None:
        """Counts outbox entries delivered inside a bundled message (not messages)."""
        self.notifications.labels(channel_kind, "bundled").inc(count)

    def record_page(self, count: int = 1) -> None:
        """Counts outbox entries written by the stage."""
        self.pages.inc(count)

    def record_not_paged(self, reason: str) -> None:
        """Counts one decision not to page (``reason`` a code, not free text)."""
        self.not_paged.labels(reason).inc()

    def record_sla(self, clock: str, kind: str) -> None:
        """Counts an SLA ``warning`` or ``breach`` of ``clock``."""
        self.sla_events.labels(clock, kind).inc()

    def set_channel_paused(self, channel: str, paused: bool) -> None:
        """Sets whether ``channel`` is paused now."""
        self.channel_paused.labels(channel).set(1 if paused else 0)

    def observe(self, notes: Sequence[TimelineNote]) -> None:
        """Counts what the notes of one landed commit tell (see the module docstring).

        An outbox entry about several incidents (a bundle) is noted on each of their
        timelines and counted once; the entries a bundled message carried (their notes
        name it, ``bundled_in``) count the message once and themselves as ``bundled``.
        """
        counted: set[tuple[object, ...]] = set()
        for note in notes:
            detail = note.detail
            if note.kind in (DELIVERY_SUCCEEDED, DELIVERY_FAILED) and detail.get("bundled_in"):
                self._bundled(note, counted)
                continue
            if note.kind in (PAGED, PAGE_SCHEDULED, DELIVERY_SUCCEEDED, DELIVERY_FAILED):
                entry = (note.kind, detail.get("key"), detail.get("attempt"))
                if entry in counted:
                    continue
                counted.add(entry)
            if note.kind in (PAGED, PAGE_SCHEDULED):
                self.record_page()
            elif note.kind == NOT_PAGED:
                self.record_not_paged(str(detail.get("code", "other")))
            elif note.kind in (DELIVERY_SUCCEEDED, DELIVERY_FAILED):
                outcome = str(detail.get("outcome", _UNKNOWN))
                kind = str(detail.get("channel_kind", _UNKNOWN))
                self.record_delivery(kind, outcome, float(detail.get("seconds", 0.0)))
            elif note.kind in (SLA_WARNING, SLA_BREACHED):
                kind = "breach" if note.kind == SLA_BREACHED else "warning"
                self.record_sla(str(detail.get("clock", _UNKNOWN)), kind)
            elif note.kind in (CHANNEL_PAUSED, CHANNEL_RESUMED):
                self.set_channel_paused(str(detail.get("channel")), note.kind == CHANNEL_PAUSED)

    def _bundled(self, note: TimelineNote, counted: set[tuple[object, ...]]) -> None:
        """Counts a bundled message's attempt once, and its entry as ``bundled`` if sent."""
        detail = note.detail
        kind = str(detail.get("channel_kind", _UNKNOWN))
        outcome = str(detail.get("outcome", _UNKNOWN))
        message = ("message", detail.get("bundled_in"))
        if message not in counted:
            counted.add(message)
            self.record_delivery(kind, outcome, float(detail.get("seconds", 0.0)))
        entry = ("bundled", detail.get("key"))
        if outcome == "delivered" and entry not in counted:
            counted.add(entry)
            self.record_bundled(kind)
