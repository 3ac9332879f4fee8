"""``tocsin report --format text``: the figures as aligned text tables for a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from core.timestamps import format_rfc3339
from tocsin.reports.figures import Figures, Spread
from tocsin.reports.render_support import duration_text


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in cells]  # fmt: skip


def _spread_row(name: str, value: Spread) -> list[object]:
    return [name, value.count, *(duration_text(v) for v in (value.mean, value.p50, value.p90))]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_text(figures: Figures) -> str:
    """The figures as text: one titled table per section."""
    lines = [
        f"Incidents opened {format_rfc3339(figures.since)} to {format_rfc3339(figures.now)}: "
        f"{figures.incidents}",
        "",
        "Time to acknowledge (MTTA) and to resolve (MTTR)",
    ]
    header = ("", "count", "mean", "p50", "p90")
    rows = [
        _spread_row("acknowledge", figures.time_to_acknowledge),
        _spread_row("resolve", figures.time_to_resolve),
    ]
    for name, ack, resolve in figures.times_by_priority:
        rows += [_spread_row(f"{name} acknowledge", ack), _spread_row(f"{name} resolve", resolve)]
    lines += _table(header, rows)
    lines += ["", "SLA compliance (met / (met + breached))"]
    lines += _table(
        ("priority", "target", "met", "breached", "pending", "compliance"),
        [[c.priority, c.target, c.met, c.breached, c.pending, _percent(c.compliance)]
         for c in figures.sla],
    )  # fmt: skip
    for title, counts in (
        ("By state", figures.by_state),
        ("By priority", figures.by_priority),
        ("By category", figures.by_category),
        ("By service", figures.by_service),
        ("By team", figures.by_team),
    ):
        lines += ["", title]
        lines += _table(("", "incidents"), list(counts))
    lines += ["", f"Backlog: {figures.backlog_total} open now, by age"]
    lines += _table(("age", "incidents"), list(figures.backlog))
    noise = figures.noise
    mean = noise.alerts_per_incident_mean
    lines += ["", "Noise"]
    lines += _table(
        ("figure", "value"),
        [
            ("alerts", noise.alerts),
            ("alerts per incident: mean", "-" if mean is None else f"{mean:.1f}"),
            ("alerts per incident: p50 / p90 / max",
             f"{noise.alerts_per_incident_p50 or '-'} / {noise.alerts_per_incident_p90 or '-'}"
             f" / {noise.alerts_per_incident_max or '-'}"),
            ("muted incidents", noise.muted),
            ("flapping incidents", noise.flapping),
            ("stale-resolved incidents", noise.stale_resolved),
            ("resolved automatically", noise.auto_resolved),
        ],
    )  # fmt: skip
    lines += ["", f"Problem candidates ({figures.recurrence.count} or more incidents alike)"]
    lines += _table(
        ("kind", "shared", "incidents", "last opened"),
        [[c.kind, ", ".join(f"{k}={v}" for k, v in c.key.items()), c.count,
          format_rfc3339(c.last_opened_at)] for c in figures.candidates],
    )  # fmt: skip
    return "\n".join(lines) + "\n"
