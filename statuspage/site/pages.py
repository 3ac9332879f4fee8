"""The HTML pages: the front page, one page per incident, the history by month.

Jinja2 with autoescape on for every template; the CSS is inlined, nothing runs
scripts. Links are relative, so the site works under any path of any static host.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from statuspage.model import (
    ComponentHistory,
    MaintenanceStatus,
    PublicIncident,
    StatusSnapshot,
)
from statuspage.site.bars import RowCache, bar_html, rows_html, segments, shown
from statuspage.site.snippets import incident_main, month_item
from statuspage.site.text import INDICATOR_ICONS, clean, file_id, format_uptime
from statuspage.site.views import (
    When,
    chrome,
    component_view,
    incident_view,
    maintenance_view,
    when,
)

# How far back the front page lists resolved incidents ("Past incidents"), and at most
# how many: a busy fortnight would otherwise weigh more than the rest of the page (the
# history pages list them all).
RECENT = timedelta(days=14)
RECENT_MAX = 10
# The front page must stay small (under 100 KB with its CSS) however many incidents are
# open and however long their timelines: it shows the first FRONT_ACTIVE open incidents
# (and maintenances of each kind) with their FRONT_UPDATES newest updates, each body cut
# at FRONT_BODY characters; each links to its own page, which has the whole timeline.
FRONT_ACTIVE = 10
FRONT_UPDATES = 3
FRONT_BODY = 500


def environment() -> jinja2.Environment:
    """The template environment: autoescape on for every file, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # Templates ship with the code: no stat of each file at every render.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def stylesheet(env: jinja2.Environment) -> bytes:
    """style.css: the stylesheet of every page but the front page (which inlines it)."""
    return env.get_template("style.css").render().encode()


def names_of(snapshot: StatusSnapshot) -> dict[str, str]:
    """Component id -> public name (cleaned)."""
    return {c.id: clean(c.name) for c in snapshot.components}


def month_label(month: str) -> str:
    """``November 2026`` for ``2026-11``."""
    return f"{date.fromisoformat(month + '-01'):%B %Y}"


# A component's rendered bar: what it was made of, its HTML, the segment widths it uses.
Bars = dict[str, tuple[Hashable, str, frozenset[int]]]


def _bar(name: str, history: ComponentHistory, cache: Bars) -> tuple[Hashable, str, frozenset[int]]:
    """A component's bar as HTML (escaped), reused when its inputs match."""
    key = (name, shown(history))
    cached = cache.get(history.component_id)
    if cached is not None and cached[0] == key:
        return cached
    bar = segments(history)
    return key, bar_html(name, bar), frozenset(s.days for s in bar)


class Frame:
    """``base.html`` rendered once around two markers, for the pages (one per incident)
    that differ only in their title and main content: rendering the frame and its inlined
    CSS again for each of 10,000 pages cost more than the pages themselves."""

    def __init__(self, env: jinja2.Environment, snapshot: StatusSnapshot, root: str) -> None:
        marker = Markup("\x00")  # never in a rendering: clean() removes controls
        html = env.get_template("frame.html").render(
            page=chrome(snapshot.page, with_time=False),
            root=root,
            inline_css=False,
            widths=[],
            title=marker,
            main=marker,
        )
        self.head, self.middle, self.tail = html.split("\x00")
        self.suffix = f" \u00b7 {clean(snapshot.page.name)}"

    def wrap(self, title: str, main: str) -> bytes:
        """A whole page: ``title`` (escaped here, followed by the page's name) and ``main``
        (HTML already escaped by its template)."""
        title = str(escape(title + self.suffix))  # str: Markup + str would escape the str
        return "".join((self.head, title, self.middle, main, self.tail)).encode()


# Stands for the time in the front page's rendering: never in a rendering otherwise
# (clean() removes control characters).
_TIME = "\x00"


@dataclass(frozen=True, slots=True)
class Front:
    """A rendered front page: its text around the time it says it last changed (``parts``)
    and its bytes, which carry that time."""

    parts: tuple[str, ...]
    html: bytes


def front_page(
    env: jinja2.Environment,
    snapshot: StatusSnapshot,
    cache: Bars | None = None,
    *,
    opened: Sequence[PublicIncident] | None = None,
    previous: Front | None = None,
) -> tuple[bytes, Bars, Front]:
    """index.html: banner, active incidents, maintenance, components with their bars;
    the bars rendered, for the next build to reuse (``cache``: the last build's); and the
    page as :class:`Front`. The page says when it last changed: the snapshot's time if
    its text differs from ``previous`` (the last build's), else the time ``previous``
    says, so that a rebuild with nothing new leaves the file as it is. ``opened``: the
    snapshot's open incidents, when the caller has them (else they are looked for)."""
    page, zone = snapshot.page, snapshot.page.time_zone
    names = names_of(snapshot)
    histories: Mapping[str, ComponentHistory] = {h.component_id: h for h in snapshot.histories}
    widths: set[int] = set()
    bars: Bars = {}
    views: dict[str, dict[str, object]] = {}
    for component in snapshot.components:
        if component.only_show_if_degraded and component.status == "operational":
            continue
        view = component_view(component)
        history = histories.get(component.id)
        if component.showcase and history is not None:
            bars[component.id] = _bar(str(view["name"]), history, cache or {})
            view["bar"] = bars[component.id][1]
            view["days_href"] = f"uptime/{file_id(component.id)}.html"
            widths.update(bars[component.id][2])
            view["uptime"] = (
                f"{format_uptime(history.uptime_90d)} uptime (90 days), "
                f"{format_uptime(history.uptime_30d)} (30 days)"
            )
        views[component.id] = view
    recent_from = page.generated_at - RECENT
    recent = []
    for i in snapshot.incidents:
        if i.created_at < recent_from:
            break  # newest created first, and an incident starts when it is created
        if not i.is_open and i.started_at >= recent_from:
            recent.append(i)
    active = list(opened) if opened is not None else [i for i in snapshot.incidents if i.is_open]
    context = {
        "page": replace(chrome(page, with_time=False), generated=When(_TIME, _TIME)),
        "root": "",
        "inline_css": True,
        "widths": sorted(widths),  # the bar segments' widths in days, for their CSS
        "overall": {
            "indicator": snapshot.indicator.value,
            "icon": INDICATOR_ICONS[snapshot.indicator],
            "description": snapshot.description,
        },
        "active": [_shortened(incident_view(i, zone, names, "")) for i in active[:FRONT_ACTIVE]],
        "more_active": max(0, len(active) - FRONT_ACTIVE),
        "maintenance_sections": _maintenance_sections(snapshot, names),
        "blocks": _blocks(snapshot, views),
        # Views of the shown ones only: a busy fortnight has a hundred.
        "recent": [incident_view(i, zone, names, "", timeline=False) for i in recent[:RECENT_MAX]],
        "more_recent": max(0, len(recent) - RECENT_MAX),
    }
    parts = tuple(env.get_template("index.html").render(context).split(_TIME))
    if previous is not None and previous.parts == parts:
        return previous.html, bars, previous
    at = when(page.generated_at, zone)
    head, middle, tail = parts  # the time's two places: its datetime and its text
    html = "".join((head, str(escape(at.iso)), middle, str(escape(at.text)), tail)).encode()
    return html, bars, Front(parts, html)


def _shortened(view: dict[str, object]) -> dict[str, object]:
    """A view of an incident or maintenance for the front page: its FRONT_UPDATES newest
    updates, bodies cut at FRONT_BODY; ``earlier``: how many updates it leaves out,
    ``cut``: whether it cut a body (the template then links to the whole timeline)."""
    updates = view["updates"]
    assert isinstance(updates, list)
    kept = []
    cut = False
    for update in updates[:FRONT_UPDATES]:
        body = str(update["body"])
        if len(body) > FRONT_BODY:
            update = {**update, "body": body[:FRONT_BODY].rstrip() + " \u2026"}
            cut = True
        kept.append(update)
    return {**view, "updates": kept, "earlier": len(updates) - len(kept), "cut": cut}


def _maintenance_sections(
    snapshot: StatusSnapshot, names: Mapping[str, str]
) -> list[tuple[str, str, list[dict[str, object]]]]:
    zone = snapshot.page.time_zone
    active = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)
    # Soonest first, as a reader plans around them.
    ordered = sorted(snapshot.maintenances, key=lambda m: m.scheduled_for)
    return [
        (
            "Maintenance in progress",
            "maint-active",
            [_shortened(maintenance_view(m, zone, names)) for m in ordered if m.status in active][
                :FRONT_ACTIVE
            ],
        ),
        (
            "Upcoming maintenance",
            "maint-upcoming",
            [
                _shortened(maintenance_view(m, zone, names))
                for m in ordered
                if m.status == MaintenanceStatus.SCHEDULED
            ][:FRONT_ACTIVE],
        ),
    ]


def _blocks(
    snapshot: StatusSnapshot, views: Mapping[str, dict[str, object]]
) -> list[dict[str, object]]:
    """Groups and ungrouped components in page order; a group sits where its first
    component is; empty groups (every component hidden) are left out."""
    groups = {g.id: g for g in snapshot.groups}
    blocks: list[dict[str, object]] = []
    seen: set[str] = set()
    for component in snapshot.components:
        group = groups.get(component.group_id) if component.group_id else None
        if group is None:
            if component.id in views:
                blocks.append({"group": False, "components": [views[component.id]]})
            continue
        if group.id in seen:
            continue
        seen.add(group.id)
        members = [views[c] for c in group.component_ids if c in views]
        if members:
            blocks.append(
                {
                    "group": True,
                    "fid": f"{len(seen)}",
                    "name": clean(group.name),
                    "description": clean(group.description),
                    "components": members,
                }
            )
    return blocks


def incident_page(env: jinja2.Environment, frame: Frame, view: Mapping[str, object]) -> bytes:
    """incidents/<id>.html: the incident, its components and its whole timeline
    (``view``: ``incident_view`` with root ``../``)."""
    return frame.wrap(str(view["name"]), incident_main(view))


def uptime_page(
    env: jinja2.Environment,
    snapshot: StatusSnapshot,
    name: str,
    history: ComponentHistory,
    incidents: Mapping[str, PublicIncident],
    cache: RowCache | None = None,
) -> tuple[bytes, RowCache]:
    """uptime/<component>.html: the component's 90 days in full, newest first: uptime,
    time per status and each incident by name, linked (what the front page's bar sums up);
    and its rows, for the next rendering to reuse (``cache``: the last one's)."""
    rows, made = rows_html(history, incidents, "../", cache)
    context = {
        "page": chrome(snapshot.page, with_time=False),
        "root": "../",
        "inline_css": False,
        "widths": [],
        "name": name,
        "uptime": f"{format_uptime(history.uptime_90d)} uptime (90 days), "
        f"{format_uptime(history.uptime_30d)} (30 days)",
        "rows": rows,
    }
    return env.get_template("uptime.html").render(context).encode(), made


def history_index(
    env: jinja2.Environment, snapshot: StatusSnapshot, counts: Mapping[str, int]
) -> bytes:
    """history/index.html: every month with incidents, newest first, with its count."""
    months = [
        {"href": f"{m}.html", "label": month_label(m), "count": counts[m]}
        for m in sorted(counts, reverse=True)
    ]
    context = {
        "page": chrome(snapshot.page, with_time=False),
        "root": "../",
        "inline_css": False,
        "widths": [],
        "months": months,
    }
    return env.get_template("history_index.html").render(context).encode()


def history_month(
    env: jinja2.Environment,
    snapshot: StatusSnapshot,
    month: str,
    items: Sequence[Mapping[str, object]],
    neighbours: tuple[str | None, str | None],
) -> bytes:
    """history/<YYYY-MM>.html: a month's incidents, newest first, linking to the next months
    (``items``: their ``incident_view`` with root ``../``)."""
    newer, older = neighbours

    def link(m: str | None) -> dict[str, str] | None:
        return {"href": f"{m}.html", "label": month_label(m)} if m else None

    context = {
        "page": chrome(snapshot.page, with_time=False),
        "root": "../",
        "inline_css": False,
        "widths": [],
        "label": month_label(month),
        "items": [month_item(i) for i in items],
        "newer": link(newer),
        "older": link(older),
    }
    return env.get_template("history_month.html").render(context).encode()
