"""``tocsin report --format html``: one self-contained page, SVG charts, no JavaScript."""

from __future__ import annotations

from markupsafe import Markup

from tocsin.reports.charts import counts_chart, sla_chart, times_chart
from tocsin.reports.figures import Figures
from tocsin.reports.render_support import environment


def render_html(figures: Figures) -> str:
    """The figures as one HTML page: tables, and pygal's SVG charts inline."""
    charts = {
        "times": times_chart(figures, 1),
        "sla": sla_chart(figures.sla, 2),
        "priority": counts_chart("Incidents by priority", figures.by_priority, 3),
        "category": counts_chart("Incidents by category", figures.by_category, 4),
        "service": counts_chart("Incidents by service", figures.by_service, 5),
        "team": counts_chart("Incidents by team", figures.by_team, 6),
        "backlog": counts_chart("Backlog by age", figures.backlog, 7),
    }
    template = environment().get_template("report.html.j2")
    # The charts are pygal's SVG, whose text it escaped itself: trusted markup here.
    return template.render(
        f=figures, charts={name: Markup(svg) for name, svg in charts.items()}  # noqa: S704
    )
