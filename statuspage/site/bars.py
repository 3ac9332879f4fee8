"""The 90-day uptime bar: one segment per day, runs of perfect days merged into one.

Each segment carries its level (a CSS class giving its colour), its width in days and
a short text alternative naming its date(s), uptime and number of incidents
("3 Nov: 99.17%, 2 incidents"; a day without incidents says only its uptime, "4 Nov:
100%", as the legend above the bars explains: on the bench's page, 730 runs of quiet
days saying "no incidents" weighed 10 KB). A run of consecutive days with full uptime
and nothing to report becomes one segment whose text names the first and last day: a
screen reader reads a few entries instead of 90. The incidents' names, the time per
status and links to the incidents are on the component's day-by-day page
(``day_rows``), which the component's name links to: with 50 components and 800
incidents in 90 days, naming every incident in every segment made the front page three
times the 100 KB target.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from statuspage.model import ComponentHistory, ComponentStatus, DayAvailability, PublicIncident
from statuspage.site.text import (
    COMPONENT_WORDS,
    clean,
    file_id,
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


@dataclass(frozen=True, slots=True)
class DayRow:
    """One day of a component's day-by-day page: everything the bar's segment sums up."""

    level: str
    day: date
    uptime: str
    downtime: str  # time per status, "" when none
    incidents: tuple[tuple[str, str], ...]  # (name, href or "") of each incident of the day


def shown(history: ComponentHistory) -> Hashable:
    """What a history's bar and day-by-day page show of it, to compare with the last
    build's: every day but the last as it is (a history refreshed later the same day
    shares those objects, so they compare by identity), the last day and the uptime as
    they read. Today's uptime moves with every minute observed; its 2 decimals do not."""
    last = history.days[-1] if history.days else None
    return (
        history.component_id,
        history.days[:-1],
        None if last is None else _day_shown(last),
        format_uptime(history.uptime_30d),
        format_uptime(history.uptime_90d),
    )


def _day_shown(day: DayAvailability) -> Hashable:
    minutes = tuple(sorted((s.value, round(v / 60)) for s, v in day.downtime_seconds.items()))
    full = day.uptime is not None and day.uptime >= 1.0
    return (day.day, level(day), format_uptime(day.uptime), full, minutes, day.incident_ids)


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


def _short_day(day: date) -> str:
    """``3 Nov``: the bar spans 90 days, so day and month name a day without doubt."""
    return f"{day.day} {day:%b}"


def _span(first: date, last: date) -> str:
    """``1-12 Nov`` or ``28 Nov-3 Dec``, with an en dash."""
    if first.month == last.month:
        return f"{first.day}\u2013{last.day} {last:%b}"
    return f"{_short_day(first)}\u2013{_short_day(last)}"


def _summary(day: DayAvailability) -> str:
    """A day's short text alternative: date, uptime, number of incidents."""
    if day.uptime is None:
        return f"{_short_day(day.day)}: no data"
    count = len(day.incident_ids)
    told = f", {count} incident{'s' if count > 1 else ''}" if count else ""
    return f"{_short_day(day.day)}: {format_uptime(day.uptime)}{told}"


def _quiet(day: DayAvailability) -> bool:
    """Whether a day merges with its neighbours: no data, or full uptime and nothing else."""
    if day.incident_ids:
        return False
    return day.uptime is None or (day.uptime >= 1.0 and not day.downtime_seconds)


def segments(history: ComponentHistory) -> list[Segment]:
    """The bar of one component, oldest day first."""
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
                what = "no data" if day.uptime is None else "100%"
                out.append(Segment(level(day), j - i + 1, f"{_span(day.day, days[j].day)}: {what}"))
                i = j + 1
                continue
        out.append(Segment(level(day), 1, _summary(day)))
        i += 1
    return out


def bar_html(name: str, bar: list[Segment]) -> Markup:
    """A bar as HTML, written tersely: it is repeated for every component on the front page
    (no ``</li>``, which HTML infers; green "up" is the bar's own colour, so no class; the
    text straight in the ``li``, hidden by the CSS but read by screen readers). The list's
    label names the component; the legend above the bars says what a day's text tells."""
    items = []
    for s in bar:
        classes = [] if s.level == "up" else [s.level]
        if s.days > 1:
            classes.append(f"w{s.days}")
        attribute = ""
        if len(classes) == 1:
            attribute = f" class={classes[0]}"
        elif classes:
            attribute = f' class="{" ".join(classes)}"'
        items.append(f"<li{attribute}>{escape(s.text)}")
    label = escape(f"{name}, last 90 days")
    # Every piece of text in it went through escape() above.
    return Markup(f'<ol class="bar" aria-label="{label}">{"".join(items)}</ol>')  # noqa: S704


# A component's day-by-day rows as HTML, per day: the day rendered, the names of its
# incidents then, and its row (reused while both are the same).
RowCache = dict[date, tuple[DayAvailability, tuple[str | None, ...], str]]


def day_row(day: DayAvailability, incidents: Mapping[str, PublicIncident], root: str) -> DayRow:
    """One day of a component's history in full: uptime, time per status and each
    incident's name and page (``root`` prefixes the links)."""
    downtime = ", ".join(
        f"{COMPONENT_WORDS[status]} {format_duration(day.downtime_seconds[status])}"
        for status in _STATUS_ORDER
        if day.downtime_seconds.get(status, 0) > 0
    )
    # An incident older than the snapshot's history is counted, without a page.
    named = tuple(
        (clean(incidents[i].name), f"{root}incidents/{file_id(i)}.html")
        if i in incidents
        else ("an earlier incident", "")
        for i in day.incident_ids
    )
    return DayRow(level(day), day.day, format_uptime(day.uptime), downtime, named)


def day_rows(
    history: ComponentHistory, incidents: Mapping[str, PublicIncident], root: str
) -> list[DayRow]:
    """Every day of a component's history, newest first, in full (:func:`day_row`)."""
    return [day_row(day, incidents, root) for day in reversed(history.days)]


def row_html(row: DayRow) -> str:
    """A day's row of the day-by-day table (written here, not in the template: with 90
    rows a page, Jinja's lookups were most of a page's cost). Every string escaped."""
    iso = row.day.isoformat()
    if row.incidents:
        told = "; ".join(
            f'<a href="{escape(href)}"><bdi>{escape(name)}</bdi></a>' if href else str(escape(name))
            for name, href in row.incidents
        )
    else:
        told = "none"
    return (
        f'<tr id="d{iso}"><th scope="row"><i class="{escape(row.level)}" aria-hidden="true">'
        f'</i> <time datetime="{iso}">{row.day.day} {row.day:%b %Y}</time></th>'
        f"<td>{escape(row.uptime)}</td><td>{escape(row.downtime or 'none')}</td>"
        f"<td>{told}</td></tr>\n"
    )


def rows_html(
    history: ComponentHistory,
    incidents: Mapping[str, PublicIncident],
    root: str,
    cache: RowCache | None = None,
) -> tuple[Markup, RowCache]:
    """The day-by-day table's rows, newest first, and the rows for the next call to reuse
    (``cache``: the last call's for this component): a day that is the same object,
    whose incidents have the same names, keeps its row (89 of 90 on most rebuilds)."""
    made: RowCache = {}
    rows = []
    for day in reversed(history.days):
        names = tuple(incidents[i].name if i in incidents else None for i in day.incident_ids)
        cached = cache.get(day.day) if cache else None
        if cached is not None and cached[0] is day and cached[1] == names:
            html = cached[2]
        else:
            html = row_html(day_row(day, incidents, root))
        made[day.day] = (day, names, html)
        rows.append(html)
    # Every piece of text in the rows went through escape() in row_html.
    return Markup("".join(rows)), made  # noqa: S704
