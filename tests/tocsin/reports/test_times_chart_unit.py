"""The HTML report's chart of mean times shows no mean as 0: its unit fits the shortest."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from core.incident import IncidentState
from core.problem_candidates import Recurrence
from core.store import IncidentSummary
from rules.priority import DEFAULT_PRIORITY
from tests.contract.builders import make_incident
from tests.tocsin.reports.test_figures import NOW, SINCE
from tocsin.reports.charts import time_unit, times_chart
from tocsin.reports.figures import compute

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


def test_sub_minute_means_are_charted_in_seconds() -> None:
    # P2 acknowledged in 1.1 s and resolved in 1 h; P5 resolved in 1.6 s.
    period = [
        quick(1, "P2", 1.1 * SECOND, timedelta(hours=1)),
        quick(2, "P5", None, 1.6 * SECOND),
    ]
    figures = compute(period, [], DEFAULT_PRIORITY, Recurrence(), SINCE, NOW)
    chart = times_chart(figures, 1)
    assert "Mean time to acknowledge and to resolve (seconds)" in chart
    values = re.findall(r'<text[^>]*class="value[^"]*"[^>]*>([^<]*)</text>', chart)
    assert {"1.1", "1.6", "3600"} <= set(values), values


@pytest.mark.parametrize(
    ("means", "unit"),
    [
        ([1.1 * SECOND, timedelta(hours=3)], "seconds"),  # the shortest decides
        ([90 * SECOND, timedelta(hours=3)], "minutes"),
        ([timedelta(hours=2), None], "hours"),  # no mean: not counted
        ([timedelta(0), 3 * SECOND], "seconds"),  # a mean of 0 shows as 0 in any unit
        ([None], "minutes"),  # nothing to show: as before
    ],
)
def test_the_time_unit(means: list[timedelta | None], unit: str) -> None:
    assert time_unit(means)[0] == unit
