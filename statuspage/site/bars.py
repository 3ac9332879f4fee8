"""The 90-day uptime bar: one segment per day, runs of perfect days merged into one.

Each segment carries its level (a CSS class giving its colour), its width in days and
a text alternative naming its date(s), uptime, time per status and incidents. A run of
consecutive days with full uptime and nothing to report becomes one segment whose
text names the first and last day ("100% uptime each day"): a screen reader reads a
few entries instead of 90, and the front page stays small with 50 components.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from statuspage.model import ComponentHistory, ComponentStatus, DayAvailability, PublicIncident
from statuspage.site.text import (
    COMPONENT_WORDS,
    clean,
    file_id,
    format_day,
    format_duration,
    format_uptime,
)

# Order in which a day's time per status is told.
_STATUS_ORDER = (
    ComponentStatus.MAJOR_OUTAGE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.UNDER_MAINTENANCE,
)


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of a bar: ``days`` wide, coloured by ``level``, described by ``text``."""

    level: str  # nd (no data), up, mt (maintenance), l1, l2, l3 (growing downtime)
    days: int
    text: str
    href: str | None  # the day's incident page (or its month's history), when it had any


def level(day: DayAvailability) -> str:
    """The colour class of a day, by its uptime (maintenance alone is its own colour)."""
    if day.uptime is None:
        return "nd"
    if day.uptime >= 1.0:
        if day.downtime_seconds.get(ComponentStatus.UNDER_MAINTENANCE, 0) > 0:
            return "mt"
        return "up"
    if day.uptime >= 0.99:
        return "l1"
    if day.uptime >= 0.9:
        return "l2"
    return "l3"


def _details(day: DayAvailability, incidents: Mapping[str, PublicIncident]) -> str:
    """What happened on a day, after its date: uptime, time per status, incidents."""
    if day.uptime is None:
        return "no data"
    parts = [f"{format_uptime(day.uptime)} uptime"]
    for status in _STATUS_ORDER:
        seconds = day.downtime_seconds.get(status, 0)
        if seconds > 0:
            parts.append(f"{COMPONENT_WORDS[status].lower()} {format_duration(seconds)}")
    if not day.incident_ids:
        parts.append("no incidents")
    else:
        names = [
            clean(incidents[i].name) if i in incidents else "an earlier incident"
            for i in day.incident_ids
        ]
        count = len(names)
        parts.append(f"{count} incident{'s' if count > 1 else ''}: " + "; ".join(names))
    return ", ".join(parts)


def _quiet(day: DayAvailability) -> bool:
    """Whether a day merges with its neighbours: no data, or full uptime and nothing else."""
    if day.incident_ids:
        return False
    return day.uptime is None or (day.uptime >= 1.0 and not day.downtime_seconds)


def segments(
    history: ComponentHistory, incidents: Mapping[str, PublicIncident], root: str
) -> list[Segment]:
    """The bar of one component, oldest day first; ``root`` prefixes links (``""``, ``../``)."""
    out: list[Segment] = []
    days = history.days
    i = 0
    while i < len(days):
        day = days[i]
        if _quiet(day):
            j = i
            while j + 1 < len(days) and _quiet(days[j + 1]) and level(days[j + 1]) == level(day):
                j += 1
            if j > i:
                span = f"{format_day(day.day)} to {format_day(days[j].day)}"
                what = "no data" if day.uptime is None else "100% uptime each day, no incidents"
                out.append(Segment(level(day), j - i + 1, f"{span}: {what}", None))
                i = j + 1
                continue
        out.append(
            Segment(
                level(day),
                1,
                f"{format_day(day.day)}: {_details(day, incidents)}",
                _link(day, root),
            )
        )
        i += 1
    return out


def _link(day: DayAvailability, root: str) -> str | None:
    """A day's one incident's page, or its month's history when it had several."""
    if not day.incident_ids:
        return None
    if len(day.incident_ids) == 1:
        return f"{root}incidents/{file_id(day.incident_ids[0])}.html"
    return f"{root}history/{day.day:%Y-%m}.html"
