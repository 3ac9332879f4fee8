"""The closure report: gathered from either store, bounded for storms, served as Markdown and HTML."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.incident import Incident, IncidentEvent, IncidentState, Task
from core.model import AlertStatus
from core.problems import Problem, ProblemState
from core.store import CorrelationCommit, GroupHead, Store, every_alert
from rules.priority import DEFAULT_PRIORITY
from tests.app_harness import VIEWER, Ingest
from tests.contract.builders import T0, make_incident
from tocsin.keys import STORE
from tocsin.reports.closure import ALERTS_SHOWN, NotClosed, closure_report
from tocsin.reports.closure_render import render_html, render_markdown
from tocsin.reports.sla import Outcome

HOSTILE_TITLE = "Disk full <script>alert(1)</script> [click](http://evil.example) | x"


def closed_incident(n: int, alerts: int = 1, **changes: object) -> Incident:
    """Incident ``n`` as a person worked and closed it: acknowledged at 4m, resolved at 50m."""
    base = make_incident(n)
    opened = base.opened_at
    template = next(iter(base.alerts.values()))
    many = {
        f"{k:016x}": replace(
            template,
            fingerprint=f"{k:016x}",
            labels={"alertname": "DiskFull", "instance": f"db-{k}"},
            status=AlertStatus.RESOLVED,
        )
        for k in range(alerts)
    }
    fields: dict[str, object] = {
        "alerts": many,
        "state": IncidentState.CLOSED,
        "priority": "P1",
        "acknowledged_at": opened + timedelta(minutes=4),
        "acknowledged_by": "ana",
        "resolved_at": opened + timedelta(minutes=50),
        "resolved_by": "ana",
        "resolution_code": "solved_workaround",
        "resolution_notes": "moved the WAL to a bigger disk",
        "closed_at": opened + timedelta(hours=2),
        "closed_by": "ben",
        "tasks": (
            Task("1", "Check backups", "rules", "tocsin", opened, "ana", opened),
            Task("2", "Grow the disk for good", "person", "ana", opened),
        ),
    }
    fields.update(changes)
    return replace(base, **fields)  # type: ignore[arg-type]


def lifecycle_events(incident: Incident) -> tuple[IncidentEvent, ...]:
    """The timeline a worked incident has: opened, acknowledged, a note, resolved, closed."""
    at = incident.opened_at

    def event(minutes: int, actor: str, kind: str, **detail: object) -> IncidentEvent:
        return IncidentEvent(incident.id, at + timedelta(minutes=minutes), actor, kind, detail)

    return (
        event(0, "correlate", "opened"),
        event(4, "ana", "acknowledged", **{"from": "triggered", "to": "acknowledged"}),
        event(10, "ana", "note", text="WAL grows 1 GB a minute"),
        event(50, "ana", "resolved", resolution_code="solved_workaround", notes="moved"),
        event(120, "ben", "closed", **{"from": "resolved", "to": "closed"}),
    )


async def save(store: Store, incident: Incident, events: tuple[IncidentEvent, ...] = ()) -> None:
    """Writes a new incident with its alerts and timeline."""
    await store.commit(
        CorrelationCommit(
            "test",
            incidents=(incident,),
            heads=(GroupHead(incident.group_key, None, incident.id),),
            events=events,
            alerts=every_alert(incident),
        )
    )


async def test_a_storm_incident_lists_a_page_of_alerts_and_counts_the_rest(store: Store) -> None:
    incident = closed_incident(1, alerts=ALERTS_SHOWN + 250)
    await save(store, incident, lifecycle_events(incident))
    report = await closure_report(store, None, DEFAULT_PRIORITY, incident.id)
    assert len(report.alerts) == ALERTS_SHOWN
    assert report.alerts_total == ALERTS_SHOWN + 250
    assert report.alerts_more == 250
    assert "... and 250 more alert(s), not listed." in render_markdown(report)


async def test_the_report_has_times_sla_resolution_tasks_and_timeline(store: Store) -> None:
    incident = closed_incident(2)
    await save(store, incident, lifecycle_events(incident))
    report = await closure_report(store, None, DEFAULT_PRIORITY, incident.id)
    assert report.time_to_acknowledge == timedelta(minutes=4)
    assert report.time_to_resolve == timedelta(minutes=50)
    # P1: acknowledge within 5m (took 4m), resolve within 1h (took 50m).
    assert [(s.target, s.outcome) for s in report.sla] == [
        ("acknowledge", Outcome.MET),
        ("resolve", Outcome.MET),
    ]
    assert [t.title for t in report.follow_ups] == ["Grow the disk for good"]
    assert [e.kind for e in report.timeline.shown] == [
        "opened", "acknowledged", "note", "resolved", "closed",
    ]  # fmt: skip
    text = render_markdown(report)
    for heading in (
        "## Summary", "## SLA", "## Resolution", "## Root cause and follow-up actions",
        "## Alerts involved", "## Timeline",
    ):  # fmt: skip
        assert heading in text
    assert "| acknowledge | 5m | 4m | met |" in text
    assert "solved\\_workaround" in text
    assert "WAL grows 1 GB a minute" in text
    assert "**open: follow-up**" in text


async def test_the_linked_problem_gives_root_cause_and_workaround(store: Store) -> None:
    incident = closed_incident(8, problem_id="prb-1")
    await save(store, incident, lifecycle_events(incident))
    problem = Problem(
        id="prb-1",
        title="WAL disk too small",
        state=ProblemState.KNOWN_ERROR,
        created_at=T0,
        created_by="ana",
        updated_at=T0,
        updated_by="ana",
        root_cause="the WAL volume was sized for last year's traffic",
        workaround="move the WAL to the spare volume",
        known_error=True,
        incidents=(incident.id,),
    )
    await store.write_problem(problem)
    report = await closure_report(store, store, DEFAULT_PRIORITY, incident.id)
    assert report.problem == problem
    text = render_markdown(report)
    assert "- Problem: prb-1, WAL disk too small (known_error, known error)" in text
    assert "- Root cause: the WAL volume was sized for last year's traffic" in text
    assert "- Workaround: move the WAL to the spare volume" in text


async def test_an_incident_not_closed_has_no_report_yet(store: Store) -> None:
    incident = closed_incident(3, state=IncidentState.RESOLVED, closed_at=None, closed_by=None)
    await save(store, incident)
    with pytest.raises(NotClosed):
        await closure_report(store, None, DEFAULT_PRIORITY, incident.id)


async def test_the_same_store_gives_the_same_report(store: Store) -> None:
    incident = closed_incident(4, alerts=3)
    await save(store, incident, lifecycle_events(incident))
    first = await closure_report(store, None, DEFAULT_PRIORITY, incident.id)
    second = await closure_report(store, None, DEFAULT_PRIORITY, incident.id)
    assert render_markdown(first) == render_markdown(second)
    assert render_html(first) == render_html(second)


async def test_time_held_before_the_acknowledgement_pauses_its_clock(store: Store) -> None:
    # Acknowledged 9m after opening, 6m of which on hold: 3m counted, within P1's 5m.
    incident = closed_incident(
        5,
        acknowledged_at=T0 + timedelta(minutes=5 + 9),
        on_hold_total=timedelta(minutes=6),
    )
    at = incident.opened_at
    events = (
        IncidentEvent(incident.id, at, "correlate", "opened", {}),
        IncidentEvent(incident.id, at + timedelta(minutes=1), "ana", "on_hold", {"reason": "x"}),
        IncidentEvent(incident.id, at + timedelta(minutes=7), "ana", "resumed", {}),
        IncidentEvent(incident.id, at + timedelta(minutes=9), "ana", "acknowledged", {}),
    )
    await save(store, incident, events)
    report = await closure_report(store, None, DEFAULT_PRIORITY, incident.id)
    acknowledge = report.sla[0]
    assert acknowledge.elapsed == timedelta(minutes=3)
    assert acknowledge.outcome is Outcome.MET


async def closed_in_app(ingest: Ingest, n: int, **changes: object) -> Incident:
    incident = closed_incident(n, **changes)
    await save(ingest.client.app[STORE], incident, lifecycle_events(incident))
    return incident


async def test_http_serves_markdown_by_default_and_html_when_asked(ingest: Ingest) -> None:
    incident = await closed_in_app(ingest, 6, title=HOSTILE_TITLE)
    path = f"/api/v1/incidents/{incident.id}/report"
    # (query, Accept, content type answered): ?format wins over Accept.
    cases = [
        ("", "", "text/markdown"),
        ("", "text/html,application/xhtml+xml;q=0.9", "text/html"),
        ("?format=markdown", "text/html", "text/markdown"),
        ("?format=html", "", "text/html"),
    ]
    for query, accept, content_type in cases:
        answer = await ingest.client.get(path + query, headers={**VIEWER, "Accept": accept})
        assert answer.status == 200, await answer.text()
        assert answer.content_type == content_type, (query, accept)
        text = await answer.text()
        # Text from alerts and people never becomes markup or a link.
        assert "<script>" not in text
        if content_type == "text/markdown":
            assert "\\[click\\](http" in text  # the brackets escaped: no link
        else:
            assert "<a " not in text


async def test_http_answers_409_before_closing_404_unknown_400_bad_format(ingest: Ingest) -> None:
    open_one = await closed_in_app(
        ingest, 7, state=IncidentState.ACKNOWLEDGED, resolved_at=None, closed_at=None
    )
    # (path, status, field named)
    cases = [
        (f"/api/v1/incidents/{open_one.id}/report", 409, "state"),
        ("/api/v1/incidents/no-such/report", 404, None),
        (f"/api/v1/incidents/{open_one.id}/report?format=pdf", 400, "format"),
    ]
    for path, status, field in cases:
        answer = await ingest.client.get(path, headers=VIEWER)
        assert answer.status == status, path
        if field is not None:
            assert (await answer.json())["field"] == field

