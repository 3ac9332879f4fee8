"""The public status page's models: an allowlist of what customers may read.

Nothing in these classes ever comes from alert labels or annotations. Their text comes
from the rules (component names and descriptions, public templates rendered with public
variables only) and from what operators write through the status API. The data side
(``statuspage.snapshot.build_snapshot``) fills them; the site (``statuspage.site``)
renders them and reads nothing else.

Values follow Atlassian Statuspage's public API v2 (shared/reference/statuspage.md), so
the site can emit its JSON with the enums' ``value`` strings as they are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


class ComponentStatus(enum.StrEnum):
    """A component's status, Statuspage's values, from best to worst but maintenance."""

    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"


class PublicIncidentStatus(enum.StrEnum):
    """A public incident's (and its updates') status, Statuspage's values."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    POSTMORTEM = "postmortem"


class Impact(enum.StrEnum):
    """How bad a public incident is for customers, Statuspage's values."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class MaintenanceStatus(enum.StrEnum):
    """A scheduled maintenance's (and its updates') status, Statuspage's values."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class Indicator(enum.StrEnum):
    """The page's overall indicator (Statuspage's ``status.indicator``)."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class PageInfo:
    """The page itself: its name, public URL, time zone and when this view was built."""

    name: str
    url: str
    time_zone: ZoneInfo
    generated_at: datetime  # UTC


@dataclass(frozen=True, slots=True)
class PublicComponent:
    """A component as customers see it; ``id`` is the rules name (stable across builds)."""

    id: str
    name: str
    description: str
    group_id: str | None
    position: int  # 1-based, page order from the rules
    showcase: bool  # show the 90-day uptime bar
    only_show_if_degraded: bool
    start_date: date  # uptime counts from here (in the page's zone)
    status: ComponentStatus
    created_at: datetime
    updated_at: datetime  # last status change, or created_at


@dataclass(frozen=True, slots=True)
class PublicGroup:
    """A component group: a heading over its components, in the rules' order."""

    id: str
    name: str
    description: str
    position: int
    component_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AffectedComponent:
    """One component an update changed: its id and its status before and after."""

    id: str
    old_status: ComponentStatus
    new_status: ComponentStatus


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """One entry of an incident's timeline (``status`` is an incident status)."""

    id: str
    status: PublicIncidentStatus
    body: str
    created_at: datetime
    display_at: datetime
    affected_components: tuple[AffectedComponent, ...] = ()


@dataclass(frozen=True, slots=True)
class PublicIncident:
    """A public incident; ``id`` is its own public id, never the internal incident's."""

    id: str
    name: str
    status: PublicIncidentStatus
    impact: Impact
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    component_ids: tuple[str, ...]
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def is_open(self) -> bool:
        """Whether the incident is still unresolved (investigating/identified/monitoring)."""
        return self.status not in _CLOSED


_CLOSED = frozenset({PublicIncidentStatus.RESOLVED, PublicIncidentStatus.POSTMORTEM})


@dataclass(frozen=True, slots=True)
class MaintenanceUpdate:
    """One entry of a maintenance's timeline (``status`` is a maintenance status)."""

    id: str
    status: MaintenanceStatus
    body: str
    created_at: datetime
    display_at: datetime


@dataclass(frozen=True, slots=True)
class PublicMaintenance:
    """A scheduled maintenance, from a rules window or from the status API."""

    id: str
    name: str
    status: MaintenanceStatus
    scheduled_for: datetime
    scheduled_until: datetime
    component_ids: tuple[str, ...]
    updates: tuple[MaintenanceUpdate, ...]  # newest first
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DayAvailability:
    """One day of a component's 90-day bar, in the page's time zone.

    ``uptime`` is None for a day before the component's start date or after now
    ("no data"); otherwise a fraction in [0, 1]. ``downtime_seconds`` holds the
    seconds spent in each non-operational status that day (maintenance included,
    though it counts as up).
    """

    day: date
    uptime: float | None
    downtime_seconds: dict[ComponentStatus, float] = field(default_factory=dict)
    incident_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ComponentHistory:
    """A component's availability: 90 days oldest first, and its 30/90-day uptime."""

    component_id: str
    days: tuple[DayAvailability, ...]
    uptime_30d: float | None  # None when the component has no day with data yet
    uptime_90d: float | None


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """Everything the site renders, at one instant; nothing else reaches the page."""

    page: PageInfo
    groups: tuple[PublicGroup, ...]
    components: tuple[PublicComponent, ...]  # page order
    incidents: tuple[PublicIncident, ...]  # open ones and recent history, newest first
    maintenances: tuple[PublicMaintenance, ...]  # newest scheduled_for first
    histories: tuple[ComponentHistory, ...]  # one per component, page order
    indicator: Indicator
    description: str  # "All Systems Operational", "Partial System Outage", ...
