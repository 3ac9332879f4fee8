"""View models: what each template reads, built from the public snapshot only.

Every string here comes from ``statuspage.model`` (rules or operator text, cleaned of
bidi and control characters) or from the site's own words; Jinja escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from statuspage.model import (
    AffectedComponent,
    MaintenanceUpdate,
    PageInfo,
    PublicComponent,
    PublicIncident,
    PublicMaintenance,
    PublicUpdate,
)
from statuspage.site.text import (
    COMPONENT_ICONS,
    COMPONENT_WORDS,
    IMPACT_WORDS,
    INCIDENT_WORDS,
    MAINTENANCE_WORDS,
    clean,
    file_id,
    format_time,
    zone_label,
)


@dataclass(frozen=True, slots=True)
class When:
    """An instant as ``<time datetime=iso>text</time>`` shows it."""

    iso: str
    text: str


@dataclass(frozen=True, slots=True)
class Chrome:
    """What every page's frame shows: the page name, its zone, when it last changed."""

    name: str
    zone: str
    generated: When | None


def when(instant: datetime, zone: ZoneInfo) -> When:
    """The view of one instant in the page's zone."""
    return When(instant.isoformat(), format_time(instant, zone))


def chrome(page: PageInfo, *, with_time: bool) -> Chrome:
    """The frame of a page; only the front page says when it last changed (others stay
    byte-identical between builds, so rebuilding rewrites only what changed)."""
    at = page.generated_at
    generated = when(at, page.time_zone) if with_time else None
    return Chrome(clean(page.name), zone_label(page.time_zone, at), generated)


def _affected(items: Sequence[AffectedComponent], names: Mapping[str, str]) -> str:
    return "; ".join(
        f"{names.get(a.id, a.id)}: {COMPONENT_WORDS[a.old_status]} to "
        f"{COMPONENT_WORDS[a.new_status]}"
        for a in items
    )


def update_view(
    update: PublicUpdate | MaintenanceUpdate, zone: ZoneInfo, names: Mapping[str, str]
) -> dict[str, object]:
    """One timeline entry: status word, time, body, components it changed."""
    if isinstance(update, PublicUpdate):
        word = INCIDENT_WORDS[update.status]
        affected = _affected(update.affected_components, names)
    else:
        word, affected = MAINTENANCE_WORDS[update.status], ""
    return {
        "word": word,
        "at": when(update.display_at, zone),
        "body": clean(update.body),
        "affected": affected,
    }


def incident_view(
    incident: PublicIncident,
    zone: ZoneInfo,
    names: Mapping[str, str],
    root: str,
    *,
    timeline: bool = True,
) -> dict[str, object]:
    """An incident as the front page, its own page and the history show it (the history
    lists only the last update: ``timeline=False`` skips the others)."""
    last = incident.updates[0].body if incident.updates else ""
    return {
        "fid": file_id(incident.id),
        "href": f"{root}incidents/{file_id(incident.id)}.html",
        "name": clean(incident.name),
        "word": INCIDENT_WORDS[incident.status],
        "impact": IMPACT_WORDS[incident.impact],
        "components": ", ".join(names.get(c, c) for c in incident.component_ids),
        "start": when(incident.started_at, zone),
        "end": when(incident.resolved_at, zone) if incident.resolved_at else None,
        "updates": [update_view(u, zone, names) for u in incident.updates] if timeline else [],
        "last": clean(last),
    }


def maintenance_view(
    maintenance: PublicMaintenance, zone: ZoneInfo, names: Mapping[str, str]
) -> dict[str, object]:
    """A scheduled maintenance: its window, status, components and updates."""
    return {
        "fid": file_id(maintenance.id),
        "name": clean(maintenance.name),
        "word": MAINTENANCE_WORDS[maintenance.status],
        "start": when(maintenance.scheduled_for, zone),
        "end": when(maintenance.scheduled_until, zone),
        "components": ", ".join(names.get(c, c) for c in maintenance.component_ids),
        "updates": [update_view(u, zone, names) for u in maintenance.updates],
    }


def component_view(component: PublicComponent) -> dict[str, object]:
    """A component's line: name, description, status word and icon (bar added by the caller)."""
    return {
        "id": component.id,
        "name": clean(component.name),
        "description": clean(component.description),
        "status": component.status.value,
        "word": COMPONENT_WORDS[component.status],
        "icon": COMPONENT_ICONS[component.status],
        "bar": None,
        "uptime": "",
        "days_href": "",
    }
