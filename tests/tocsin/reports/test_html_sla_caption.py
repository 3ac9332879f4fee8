"""The HTML report's SLA caption says what is computed: holds pause the resolve clock only."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.incident import IncidentState
from core.problem_candidates import Recurrence
from core.store import IncidentSummary
from rules.priority import DEFAULT_PRIORITY
from tests.contract.builders import make_incident
from tests.tocsin.reports.test_figures import NOW, SINCE
from tocsin.reports.figures import compute
from tocsin.reports.render_html import render_html

SECOND = timedelta(seconds=1)


def quick(n: int, priority: str, ack: timedelta | None, resolve: timedelta) -> IncidentSummary:
    """Incident ``n`` acknowledged (unless None) and resolved that long after opening."""
    incident = make_incident(n, group_key=f"g{n}", priority=priority)
    opened = incident.opened_at
    acknowledged = None if ack is None else opened + ack
    incident = replace(
        incident,
        state=IncidentState.RESOLVED,
        acknowledged_at=acknowledged,
        resolved_at=opened + resolve,
    )
    return IncidentSummary(incident, 1, 0)


def test_the_sla_caption_says_the_acknowledge_clock_keeps_its_holds() -> None:
    figures = compute(
        [quick(1, "P2", 5 * SECOND, 60 * SECOND)], [], DEFAULT_PRIORITY, Recurrence(), SINCE, NOW
    )
    page = render_html(figures)
    assert "each clock less the time on hold" not in page
    assert "The resolve clock is less the time on hold; the acknowledge clock is not" in page
