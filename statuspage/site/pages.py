"""The HTML pages: the front page, one page per incident, the history by month.

Jinja2 with autoescape on for every template; the CSS is inlined, nothing runs
scripts. Links are relative, so the site works under any path of any static host.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import jinja2

from statuspage.model import (
    ComponentHistory,
    MaintenanceStatus,
    PublicIncident,
    StatusSnapshot,
)
from statuspage.site.bars import segments
from statuspage.site.text import INDICATOR_ICONS, clean, format_uptime
from statuspage.site.views import (
    chrome,
    component_view,
    incident_view,
    maintenance_view,
)

# How far back the front page lists resolved incidents ("Past incidents").
RECENT = timedelta(days=14)


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


def names_of(snapshot: StatusSnapshot) -> dict[str, str]:
    """Component id -> public name (cleaned)."""
    return {c.id: clean(c.name) for c in snapshot.components}


def month_label(month: str) -> str:
    """``November 2026`` for ``2026-11``."""
    return f"{date.fromisoformat(month + '-01'):%B %Y}"


# A component's rendered bar: what it was made of, its HTML, the segment widths it uses.
Bars = dict[str, tuple[Hashable, str, frozenset[int]]]


def _bar(
    env: jinja2.Environment,
    name: str,
    history: ComponentHistory,
    by_id: Mapping[str, PublicIncident],
    cache: Bars,
) -> tuple[Hashable, str, frozenset[int]]:
    """A component's bar as HTML (escaped by its template), reused when its inputs match."""
    ids = sorted({i for day in history.days for i in day.incident_ids})
    key = (name, history, tuple(by_id[i].name if i in by_id else None for i in ids))
    cached = cache.get(history.component_id)
    if cached is not None and cached[0] == key:
        return cached
    bar = segments(history, by_id, "")
    html = env.get_template("bar.html").render(name=name, bar=bar)
    return key, html, frozenset(s.days for s in bar)


def front_page(
    env: jinja2.Environment, snapshot: StatusSnapshot, cache: Bars | None = None
) -> tuple[bytes, Bars]:
    """index.html: banner, active incidents, maintenance, components with their bars;
    and the bars rendered, for the next build to reuse (``cache``: the last build's)."""
    page, zone = snapshot.page, snapshot.page.time_zone
    names = names_of(snapshot)
    by_id = {i.id: i for i in snapshot.incidents}
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
            bars[component.id] = _bar(env, str(view["name"]), history, by_id, cache or {})
            view["bar"] = bars[component.id][1]
            widths.update(bars[component.id][2])
            view["uptime"] = (
                f"{format_uptime(history.uptime_90d)} uptime (90 days), "
                f"{format_uptime(history.uptime_30d)} (30 days)"
            )
        views[component.id] = view
    recent_from = page.generated_at - RECENT
    context = {
        "page": chrome(page, with_time=True),
        "root": "",
        "widths": sorted(widths),  # the bar segments' widths in days, for their CSS
        "overall": {
            "indicator": snapshot.indicator.value,
            "icon": INDICATOR_ICONS[snapshot.indicator],
            "description": snapshot.description,
        },
        "active": [incident_view(i, zone, names, "") for i in snapshot.incidents if i.is_open],
        "maintenance_sections": _maintenance_sections(snapshot, names),
        "blocks": _blocks(snapshot, views),
        "recent": [
            incident_view(i, zone, names, "", timeline=False)
            for i in snapshot.incidents
            if not i.is_open and i.started_at >= recent_from
        ],
    }
    return env.get_template("index.html").render(context).encode(), bars


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
            [maintenance_view(m, zone, names) for m in ordered if m.status in active],
        ),
        (
            "Upcoming maintenance",
            "maint-upcoming",
            [
                maintenance_view(m, zone, names)
                for m in ordered
                if m.status == MaintenanceStatus.SCHEDULED
            ],
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


def incident_page(
    env: jinja2.Environment, snapshot: StatusSnapshot, incident: PublicIncident
) -> bytes:
    """incidents/<id>.html: the incident, its components and its whole timeline."""
    view = incident_view(incident, snapshot.page.time_zone, names_of(snapshot), "../")
    context = {
        "page": chrome(snapshot.page, with_time=False),
        "root": "../",
        "widths": [],
        "i": view,
    }
    return env.get_template("incident.html").render(context).encode()


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
        "widths": [],
        "months": months,
    }
    return env.get_template("history_index.html").render(context).encode()


def history_month(
    env: jinja2.Environment,
    snapshot: StatusSnapshot,
    month: str,
    incidents: Sequence[PublicIncident],
    neighbours: tuple[str | None, str | None],
) -> bytes:
    """history/<YYYY-MM>.html: a month's incidents, newest first, linking to the next months."""
    names = names_of(snapshot)
    zone = snapshot.page.time_zone
    newer, older = neighbours

    def link(m: str | None) -> dict[str, str] | None:
        return {"href": f"{m}.html", "label": month_label(m)} if m else None

    context = {
        "page": chrome(snapshot.page, with_time=False),
        "root": "../",
        "widths": [],
        "label": month_label(month),
        "items": [incident_view(i, zone, names, "../", timeline=False) for i in incidents],
        "newer": link(newer),
        "older": link(older),
    }
    return env.get_template("history_month.html").render(context).encode()
