"""The closure report written out: Markdown, or one HTML page (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment

from tocsin.reports.closure import ClosureReport, event_summary
from tocsin.reports.render_support import environment


@cache
def _environment() -> Environment:
    # Templates are compiled once per process, on first use.
    return environment()


def render_markdown(report: ClosureReport) -> str:
    """The report as Markdown (CommonMark with pipe tables)."""
    template = _environment().get_template("closure.md.j2")
    return template.render(r=report, i=report.incident, event_summary=event_summary)


def render_html(report: ClosureReport) -> str:
    """The report as one HTML page, without scripts or outside resources."""
    template = _environment().get_template("closure.html.j2")
    return template.render(r=report, i=report.incident, event_summary=event_summary)
