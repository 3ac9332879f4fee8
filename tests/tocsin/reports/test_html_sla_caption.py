"""The HTML report's SLA caption says what is computed: holds pause the resolve clock only."""

from __future__ import annotations

from core.problem_candidates import Recurrence
from rules.priority import DEFAULT_PRIORITY
from tests.tocsin.reports.test_figures import NOW, SINCE
from tests.tocsin.reports.test_times_chart_unit import SECOND, quick
from tocsin.reports.figures import compute
from tocsin.reports.render_html import render_html


def test_the_sla_caption_says_the_acknowledge_clock_keeps_its_holds() -> None:
    figures = compute(
        [quick(1, "P2", 5 * SECOND, 60 * SECOND)], [], DEFAULT_PRIORITY, Recurrence(), SINCE, NOW
    )
    page = render_html(figures)
    assert "each clock less the time on hold" not in page
    assert "The resolve clock is less the time on hold; the acknowledge clock is not" in page
