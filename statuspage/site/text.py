"""Words, icons and formats the site shows: status never by colour alone, times in page time."""

from __future__ import annotations

import functools
import hashlib
import math
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from statuspage.model import (
    ComponentStatus,
    Impact,
    Indicator,
    MaintenanceStatus,
    PublicIncidentStatus,
)

# Words for every enum value the page shows; a colour always comes with one of these.
COMPONENT_WORDS = {
    ComponentStatus.OPERATIONAL: "Operational",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
    ComponentStatus.UNDER_MAINTENANCE: "Under maintenance",
}
# Icons beside the words (aria-hidden: the word says it for screen readers).
COMPONENT_ICONS = {
    ComponentStatus.OPERATIONAL: "\u2713",  # check mark
    ComponentStatus.DEGRADED_PERFORMANCE: "\u25b2",  # triangle
    ComponentStatus.PARTIAL_OUTAGE: "\u25c6",  # diamond
    ComponentStatus.MAJOR_OUTAGE: "\u2716",  # heavy cross
    ComponentStatus.UNDER_MAINTENANCE: "\u2692",  # hammer and pick
}
INCIDENT_WORDS = {
    PublicIncidentStatus.INVESTIGATING: "Investigating",
    PublicIncidentStatus.IDENTIFIED: "Identified",
    PublicIncidentStatus.MONITORING: "Monitoring",
    PublicIncidentStatus.RESOLVED: "Resolved",
    PublicIncidentStatus.POSTMORTEM: "Postmortem",
}
MAINTENANCE_WORDS = {
    MaintenanceStatus.SCHEDULED: "Scheduled",
    MaintenanceStatus.IN_PROGRESS: "In progress",
    MaintenanceStatus.VERIFYING: "Verifying",
    MaintenanceStatus.COMPLETED: "Completed",
}
IMPACT_WORDS = {
    Impact.NONE: "No impact",
    Impact.MINOR: "Minor impact",
    Impact.MAJOR: "Major impact",
    Impact.CRITICAL: "Critical impact",
}
INDICATOR_ICONS = {
    Indicator.NONE: "\u2713",
    Indicator.MINOR: "\u25b2",
    Indicator.MAJOR: "\u25c6",
    Indicator.CRITICAL: "\u2716",
}

# Bidi embeddings, overrides and isolates, C0/C1 controls but tab and newline, and the
# noncharacters U+FFFE and U+FFFF: an operator's text may reorder or hide what follows it
# on the page, and XML 1.0 forbids the controls and those two outright (a feed reader
# would reject the whole feed). Also the invisible zero-width space, word joiner and
# byte order mark (not ZWJ/ZWNJ, which scripts such as Persian need); the invisible
# operators, the deprecated shaping controls, the interlinear annotation marks and the
# tag characters (which spell hidden ASCII).
_UNSAFE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff"
    "\u200b\u2060\ufeff\u180e\u2061-\u2064\u206a-\u206f\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def clean(text: str) -> str:
    """Removes bidi controls and control characters from operator or rules text."""
    return _UNSAFE.sub("", text)


def format_time(instant: datetime, zone: ZoneInfo) -> str:
    """``2 Dec 2026, 05:22 CET``: an instant in the page's zone, with the zone's abbreviation."""
    local = instant.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


@functools.lru_cache(maxsize=1024)
def format_day(day: date) -> str:
    """``2 Dec 2026``."""
    return f"{day.day} {day:%b %Y}"


def format_uptime(fraction: float | None) -> str:
    """``99.95%``, floored to 2 decimals so that a day with downtime never shows 100.00%."""
    if fraction is None:
        return "no data"
    percent = math.floor(max(0.0, min(1.0, fraction)) * 10_000 + 1e-9) / 100
    if percent == 100:
        return "100%"
    return f"{percent:.2f}%"


def format_duration(seconds: float) -> str:
    """``2 h 5 min``, ``40 min``, ``under 1 min``."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def zone_label(zone: ZoneInfo, at: datetime) -> str:
    """``Europe/Paris (UTC+01:00)``: the page's zone as the page states it."""
    offset = at.astimezone(zone).strftime("%z")
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]})"


def iso(instant: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 with milliseconds and the page zone's offset, as Statuspage writes times."""
    return instant.astimezone(zone).isoformat(timespec="milliseconds")


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def file_id(public_id: str) -> str:
    """A file name for a public id: itself when it is plain, else a hex digest of it."""
    if _SAFE_ID.fullmatch(public_id):
        return public_id
    return "x" + hashlib.sha256(public_id.encode()).hexdigest()[:24]
