"""Escalation's timeline notes as readers show them (API, CLI, closure report), and /metrics.

Notes carry text from the rules (people, channels) and from receivers (an error): the
API answers it as JSON, the CLI shows control characters as U+FFFD, the closure report
escapes it for HTML and Markdown.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from core.incident import IncidentEvent, IncidentState
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from core.store.events import EventBatch, TimelineNote
from escalation.timeline import (
    channel_notes,
    delivery_notes,
    describe,
    not_paged_code,
    sla_note,
)
from rules.priority import DEFAULT_PRIORITY
from tests.app_harness import VIEWER, Ingest
from tests.contract.builders import T0, make_incident
from tests.escalation.escalation_world import any_store  # noqa: F401  (the fixture ``store``)
from tocsin.cli_incidents_view import incident_text
from tocsin.escalation_metrics import EscalationMetrics
from tocsin.keys import STORE
from tocsin.reports.closure import closure_report
from tocsin.reports.closure_render import render_html, render_markdown

HOSTILE = "<script>alert(1)</script>\x1b[2J\u202e|[x](http://evil.example)"
# Notes the app's live escalation stage may add about the test's incident (see below).
LIVE_STAGE_DECISIONS = frozenset({"escalation_started", "escalation_stopped"})
ENTRY = {"incident": "inc-0001", "person": "ann", "channel": "hook", "level": 0, "repeat": 0}


def hostile_notes(incident_id: str) -> list[TimelineNote]:
    """A paged note, a failed delivery whose receiver said HOSTILE, and a not_paged note."""
    at = T0 + timedelta(minutes=2)
    entry = dict(ENTRY, incident=incident_id)
    paged = TimelineNote(
        incident_id,
        "paged",
        at,
        "escalation",
        {"key": "k", "person": "ann", "channel": "hook", "level": 1, "message": "page"},
    )
    result = {
        "attempt": 1,
        "outcome": "retrying",
        "status": 503,
        "error": HOSTILE,
        "will_retry_at": at + timedelta(seconds=2),
        "seconds": 0.1,
    }
    failed = delivery_notes("k", entry, "webhook", result, at)
    # Written raw, as a future kind might: the readers escape what the notes do not.
    not_paged = TimelineNote(
        incident_id, "not_paged", at, "escalation", {"reason": HOSTILE, "code": "other"}
    )
    return [paged, *failed, not_paged]


async def write(store: Store, n: int, **changes: Any) -> str:
    """Writes incident ``n`` (opened), then escalation's notes about it."""
    incident = replace(make_incident(n), **changes)
    opened = IncidentEvent(incident.id, incident.opened_at, "correlate", "opened", {})
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=(opened,),
            alerts=every_alert(incident),
        )
    )
    await store.commit_events(EventBatch("escalation", "m1", None), [], hostile_notes(incident.id))
    return incident.id


async def test_the_api_and_the_cli_show_notes_as_timeline_entries(ingest: Ingest) -> None:
    incident = await write(ingest.client.app[STORE], 1)

    answer = await (await ingest.client.get(f"/api/v1/incidents/{incident}", headers=VIEWER)).json()

    # The app's own escalation stage runs beside the test: it may have read the incident's
    # opening before this GET and said that it does not escalate it (a decision note the
    # test did not write). The notes under test are the ones written above.
    timeline = [e for e in answer["timeline"] if e["kind"] not in LIVE_STAGE_DECISIONS]
    assert [(e["actor"], e["kind"]) for e in timeline] == [
        ("correlate", "opened"),
        ("escalation", "paged"),
        ("delivery", "delivery_failed"),
        ("escalation", "not_paged"),
    ]
    failed = timeline[2]["detail"]
    # The receiver's control characters never reach a reader; the rest is kept as text.
    assert failed["error"] == "<script>alert(1)</script> [2J |[x](http://evil.example)"
    assert failed["will_retry_at"] == "2024-03-10T02:02:01.123456Z"
    assert timeline[3]["detail"]["reason"] == HOSTILE  # JSON escapes it
    text = incident_text(answer, full=True)
    assert "escalation  paged  ann on hook, level 1" in text
    assert "delivery  delivery_failed  ann on hook (webhook): retrying, attempt 1, HTTP 503" in text
    assert "\x1b" not in text
    assert "\u202e" not in text
    assert "<script>alert(1)</script>\ufffd[2J\ufffd|" in text


async def test_the_closure_report_says_what_each_note_tells_escaped(store: Store) -> None:
    opened = T0 + timedelta(minutes=1)
    incident = await write(
        store,
        1,
        state=IncidentState.CLOSED,
        resolved_at=opened + timedelta(minutes=30),
        resolved_by="ana",
        closed_at=opened + timedelta(hours=1),
        closed_by="ana",
        resolution_code="solved",
        resolution_notes="ok",
    )

    report = await closure_report(store, None, DEFAULT_PRIORITY, incident)

    assert [e.kind for e in report.timeline.shown][1:] == ["paged", "delivery_failed", "not_paged"]
    html = render_html(report)
    assert "ann on hook (webhook): retrying, attempt 1, HTTP 503: &lt;script&gt;" in html
    assert "<script>alert" not in html
    markdown = render_markdown(report)
    assert "ann on hook, level 1" in markdown
    assert "<script>" not in markdown


def test_each_kind_is_described_in_one_line() -> None:
    at = T0
    cases: list[tuple[str, dict[str, Any], str | None]] = [
        # A page sent now, and one after a contact method's delay.
        ("paged", {"person": None, "channel": "ops", "level": 2}, "channel on ops, level 2"),
        (
            "page_scheduled",
            {"person": "bob", "channel": "sms", "level": 1, "send_at": "T"},
            "bob on sms, level 1, at T",
        ),
        # An update to someone already paged says so.
        (
            "paged",
            {"person": "ann", "channel": "hook", "level": 1, "message": "resolved"},
            "ann on hook, level 1 (resolved)",
        ),
        ("escalation_stopped", {"reason": "acknowledged by ann"}, "acknowledged by ann"),
        # Not escalation's: the readers' own summary applies.
        ("acknowledged", {"reason": "x"}, None),
    ]
    for kind, detail, expected in cases:
        assert describe(kind, detail) == expected, kind
    paused = channel_notes(["i1", "i1", "i2"], "hook", True, "5 failures in a row", at, at)
    assert [n.incident_id for n in paused] == ["i1", "i2"]
    assert describe("channel_paused", paused[0].detail) == (
        "channel hook: 5 failures in a row (until 2024-03-10T01:59:59.123456Z)"
    )
    breach = sla_note("i1", "acknowledge", 1.0, "5m", at, at)
    assert breach.kind == "sla_breached"
    assert describe(breach.kind, breach.detail) == (
        "time to acknowledge at 100% of 5m (due 2024-03-10T01:59:59.123456Z)"
    )
    assert sla_note("i1", "resolve", 0.8, "1h", at, at).kind == "sla_warning"


def test_reasons_not_to_page_get_a_code() -> None:
    cases = [
        ("muted: level 1 not paged; pages when no longer muted", "muted"),
        ("held: level 2 not paged; pages when no longer held", "held"),
        ("on hold: level 1 not paged; pages when no longer on hold", "on_hold"),
        ("outside support hours: level 1 not paged; pages at 2026-01-01T09:00:00+00:00", "support_hours"),
        ("reopened by ann while flapping: level 1 was paged already", "flapping"),
        ("level 1 (repeat 0): schedule ops no longer in the rules", "not_in_rules"),
        ("level 1 (repeat 0): schedule ops reaches nobody now", "nobody_on_call"),
        ("level 1 (repeat 0): person ann has no contact method", "no_contact_method"),
        ("update 2: send_resolved is false for ann on hook", "send_resolved_off"),
        ("something new", "other"),
    ]  # fmt: skip
    for reason, code in cases:
        assert not_paged_code(reason) == code, reason


def test_metrics_count_each_kind_once_per_entry() -> None:
    registry = CollectorRegistry()
    metrics = EscalationMetrics(registry)
    bundle = dict(ENTRY, incidents=["inc-0001", "inc-0002"])
    result = {"attempt": 1, "outcome": "delivered", "status": 200, "error": None, "seconds": 0.2}
    delivered = delivery_notes("k", bundle, "slack", result, T0)
    assert [n.incident_id for n in delivered] == ["inc-0001", "inc-0002"]
    not_paged = TimelineNote("inc-0001", "not_paged", T0, "escalation", {"code": "muted"})

    metrics.observe(
        [
            *delivered,  # one bundle on two timelines: one notification
            not_paged,
            sla_note("inc-0001", "acknowledge", 0.5, "5m", T0, T0),
            sla_note("inc-0001", "acknowledge", 1.0, "5m", T0, T0),
            *channel_notes(["inc-0001"], "hook", True, "failing", None, T0),
            *channel_notes(["inc-0001"], "mail", True, "failing", None, T0),
            *channel_notes(["inc-0001"], "mail", False, "answered again", None, T0),
        ]
    )
    metrics.record_delivery("email", "failed", 1.5)

    exposed = generate_latest(registry).decode()
    for line in (
        'tocsin_notifications_total{channel_kind="slack",outcome="delivered"} 1.0',
        'tocsin_notifications_total{channel_kind="email",outcome="failed"} 1.0',
        'tocsin_notification_delivery_seconds_count{channel_kind="slack"} 1.0',
        'tocsin_notification_delivery_seconds_sum{channel_kind="email"} 1.5',
        'tocsin_escalation_not_paged_total{reason="muted"} 1.0',
        'tocsin_sla_events_total{clock="acknowledge",kind="warning"} 1.0',
        'tocsin_sla_events_total{clock="acknowledge",kind="breach"} 1.0',
        'tocsin_channel_paused{channel="hook"} 1.0',
        'tocsin_channel_paused{channel="mail"} 0.0',
        "tocsin_escalation_pages_total 0.0",
    ):
        assert line in exposed, line
