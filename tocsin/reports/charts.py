"""SVG charts of the report's figures, drawn by pygal, without scripts.

pygal puts a script (its tooltips' configuration) and a comment with the date into each
chart; they are taken out, so the page needs no JavaScript and the same figures draw the
same page. Each chart's random id becomes ``chart-N``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pygal

from tocsin.reports.figures import Figures, SlaCompliance

WIDTH = 720
BAR_HEIGHT = 28
MOST_BARS = 20  # a chart of counts shows the largest 20; the tables have every one


def _svg(chart: Any, number: int) -> str:
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if child.tag in {"script", "{http://www.w3.org/2000/svg}script"} or (
                child.tag is ET.Comment
            ):
                parent.remove(child)
    random_id = tree.get("id", "")
    text = ET.tostring(tree, encoding="unicode")
    return text.replace(random_id, f"chart-{number}") if random_id else text


def _config(title: str, bars: int) -> dict[str, object]:
    return {
        "title": title,
        "js": [],
        "width": WIDTH,
        "height": max(160, 90 + BAR_HEIGHT * bars),
        "show_legend": False,
        "print_values": True,
        "disable_xml_declaration": True,
    }


def counts_chart(title: str, counts: Sequence[tuple[str, int]], number: int) -> str:
    """A horizontal bar chart of counts by name (the largest ``MOST_BARS``)."""
    shown = list(counts)[:MOST_BARS]
    chart = pygal.HorizontalBar(**_config(title, len(shown)))
    # pygal draws the first value at the bottom: reversed, the largest is on top.
    chart.x_labels = [name for name, _ in reversed(shown)]
    chart.add("incidents", [count for _, count in reversed(shown)])
    return _svg(chart, number)


# The units a chart of times may take, largest first, with their length in seconds.
_UNITS = (("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0))


def time_unit(values: Sequence[timedelta | None]) -> tuple[str, float]:
    """The largest unit in which the shortest of ``values`` (above 0) is at least 1.

    So that no mean shows as 0: a P2 acknowledged in 1.1 s reads 1.1 seconds, not
    0 minutes, beside a P5 resolved in an hour (3,600 seconds).
    """
    positive = [v.total_seconds() for v in values if v is not None and v > timedelta(0)]
    shortest = min(positive, default=_UNITS[1][1])
    return next(((n, s) for n, s in _UNITS if shortest >= s), _UNITS[-1])


def times_chart(figures: Figures, number: int) -> str:
    """Mean time to acknowledge and to resolve by priority, in the unit ``time_unit`` picks."""
    rows = figures.times_by_priority
    acknowledge = [ack.mean for _, ack, _ in rows]
    resolve = [resolved.mean for _, _, resolved in rows]
    unit, seconds = time_unit([*acknowledge, *resolve])

    def shown(value: timedelta | None) -> float | None:
        return None if value is None else round(value.total_seconds() / seconds, 1)

    title = f"Mean time to acknowledge and to resolve ({unit})"
    chart = pygal.Bar(**{**_config(title, 6), "show_legend": True, "legend_at_bottom": True})
    chart.x_labels = [name for name, _, _ in rows]
    chart.add("MTTA", [shown(v) for v in acknowledge])
    chart.add("MTTR", [shown(v) for v in resolve])
    return _svg(chart, number)


def sla_chart(compliance: Sequence[SlaCompliance], number: int) -> str:
    """SLA compliance in percent by priority and target."""
    chart = pygal.HorizontalBar(**{**_config("SLA compliance (%)", len(compliance)),
                                   "range": (0, 100)})  # fmt: skip
    decided = [c for c in reversed(compliance) if c.compliance is not None]
    chart.x_labels = [f"{c.priority} {c.target}" for c in decided]
    chart.add("compliance", [round((c.compliance or 0) * 100, 1) for c in decided])
    return _svg(chart, number)
