"""``tocsin report --format json``: the figures as JSON, durations in seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from core.timestamps import format_rfc3339
from tocsin.reports.figures import Figures, Spread


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def spread_json(value: Spread) -> dict[str, Any]:
    """A spread with its durations in seconds."""
    return {
        "count": value.count,
        "mean_seconds": _seconds(value.mean),
        "p50_seconds": _seconds(value.p50),
        "p90_seconds": _seconds(value.p90),
    }


def figures_json(figures: Figures) -> dict[str, Any]:
    """The figures as a JSON document."""
    noise = figures.noise
    return {
        "since": format_rfc3339(figures.since),
        "until": format_rfc3339(figures.now),
        "incidents": figures.incidents,
        "by_state": dict(figures.by_state),
        "time_to_acknowledge": spread_json(figures.time_to_acknowledge),
        "time_to_resolve": spread_json(figures.time_to_resolve),
        "times_by_priority": {
            name: {"time_to_acknowledge": spread_json(a), "time_to_resolve": spread_json(r)}
            for name, a, r in figures.times_by_priority
        },
        "sla": [
            {
                "priority": c.priority,
                "target": c.target,
                "met": c.met,
                "breached": c.breached,
                "pending": c.pending,
                "compliance": None if c.compliance is None else round(c.compliance, 4),
            }
            for c in figures.sla
        ],
        "by_category": dict(figures.by_category),
        "by_service": dict(figures.by_service),
        "by_team": dict(figures.by_team),
        "by_priority": dict(figures.by_priority),
        "backlog": {"total": figures.backlog_total, "by_age": dict(figures.backlog)},
        "noise": {
            "alerts": noise.alerts,
            "alerts_per_incident": {
                "mean": None if noise.alerts_per_incident_mean is None
                else round(noise.alerts_per_incident_mean, 3),
                "p50": noise.alerts_per_incident_p50,
                "p90": noise.alerts_per_incident_p90,
                "max": noise.alerts_per_incident_max,
            },
            "muted": noise.muted,
            "flapping": noise.flapping,
            "stale_resolved": noise.stale_resolved,
            "auto_resolved": noise.auto_resolved,
        },
        "problem_candidates": {
            "recurrence": {
                "count": figures.recurrence.count,
            },
            "candidates": [
                {
                    "kind": c.kind,
                    **c.key,
                    "count": c.count,
                    "incidents": list(c.incidents),
                    "first_opened_at": format_rfc3339(c.first_opened_at),
                    "last_opened_at": format_rfc3339(c.last_opened_at),
                }
                for c in figures.candidates
            ],
        },
    }


def render_json(figures: Figures) -> str:
    """The figures as indented JSON text."""
    return orjson.dumps(figures_json(figures), option=orjson.OPT_INDENT_2).decode() + "\n"
