"""Snapshots built by hand for the site's tests (the site renders nothing else)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from statuspage.model import (
    AffectedComponent,
    ComponentHistory,
    ComponentStatus,
    DayAvailability,
    Impact,
    Indicator,
    MaintenanceStatus,
    MaintenanceUpdate,
    PageInfo,
    PublicComponent,
    PublicGroup,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicUpdate,
    StatusSnapshot,
)

NOW = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Paris")


def component(cid: str, name: str, position: int, **changes: object) -> PublicComponent:
    """An operational, showcased component created a year before NOW."""
    base = PublicComponent(
        id=cid,
        name=name,
        description=f"{name} for customers",
        group_id=None,
        position=position,
        showcase=True,
        only_show_if_degraded=False,
        start_date=date(2025, 1, 1),
        status=ComponentStatus.OPERATIONAL,
        created_at=NOW - timedelta(days=365),
        updated_at=NOW - timedelta(days=365),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def history(cid: str, bad_days: dict[int, tuple[float, tuple[str, ...]]]) -> ComponentHistory:
    """90 days ending today (page zone); ``bad_days`` maps days-ago to (uptime, incidents)."""
    today = NOW.astimezone(ZONE).date()
    days = []
    for ago in range(89, -1, -1):
        uptime, ids = bad_days.get(ago, (1.0, ()))
        down = {} if uptime >= 1 else {ComponentStatus.MAJOR_OUTAGE: (1 - uptime) * 86400}
        days.append(DayAvailability(today - timedelta(days=ago), uptime, down, ids))
    return ComponentHistory(cid, tuple(days), 0.999, 0.9995)


def incident(
    iid: str,
    name: str,
    started: datetime,
    *,
    status: PublicIncidentStatus = PublicIncidentStatus.RESOLVED,
    components: tuple[str, ...] = ("api",),
    bodies: tuple[str, ...] = ("We are investigating elevated errors.",),
) -> PublicIncident:
    """An incident with one update per body (the first body is the oldest update)."""
    statuses = [PublicIncidentStatus.INVESTIGATING] * (len(bodies) - 1) + [status]
    updates = tuple(
        PublicUpdate(
            id=f"{iid}-u{n}",
            status=statuses[n],
            body=body,
            created_at=started + timedelta(minutes=10 * n),
            display_at=started + timedelta(minutes=10 * n),
            affected_components=(
                (
                    AffectedComponent(
                        components[0],
                        ComponentStatus.OPERATIONAL,
                        ComponentStatus.PARTIAL_OUTAGE,
                    ),
                )
                if n == 0
                else ()
            ),
        )
        for n, body in enumerate(bodies)
    )[::-1]
    resolved = status in (PublicIncidentStatus.RESOLVED, PublicIncidentStatus.POSTMORTEM)
    end = started + timedelta(minutes=10 * len(bodies))
    return PublicIncident(
        id=iid,
        name=name,
        status=status,
        impact=Impact.MAJOR,
        created_at=started,
        updated_at=end,
        started_at=started,
        monitoring_at=None,
        resolved_at=end if resolved else None,
        component_ids=components,
        updates=updates,
    )


def snapshot() -> StatusSnapshot:
    """A page in Europe/Paris: a group of two, one plain component, one hidden unless
    degraded; one open incident with three updates, one resolved last month; one
    upcoming maintenance."""
    active = incident(
        "inc-open",
        "Elevated API errors",
        NOW - timedelta(hours=1),
        status=PublicIncidentStatus.IDENTIFIED,
        bodies=(
            "We are investigating elevated errors on the API.",
            "Some requests fail with a 503.",
            "The cause is identified: a failed database node.",
        ),
    )
    old = incident("inc-old", "Slow logins", NOW - timedelta(days=40), components=("web",))
    components = (
        component("api", "API", 1, group_id="core", status=ComponentStatus.PARTIAL_OUTAGE),
        component("web", "Website", 2, group_id="core"),
        component("email", "Email delivery", 3),
        component("sms", "SMS", 4, only_show_if_degraded=True),
    )
    maintenance = PublicMaintenance(
        id="mnt-1",
        name="Database upgrade",
        status=MaintenanceStatus.SCHEDULED,
        scheduled_for=NOW + timedelta(days=2),
        scheduled_until=NOW + timedelta(days=2, hours=2),
        component_ids=("api",),
        updates=(
            MaintenanceUpdate(
                "mnt-1-u0",
                MaintenanceStatus.SCHEDULED,
                "We will upgrade the database.",
                NOW - timedelta(days=1),
                NOW - timedelta(days=1),
            ),
        ),
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
    )
    return StatusSnapshot(
        page=PageInfo("Example Corp", "https://status.example.com/", ZONE, NOW),
        groups=(PublicGroup("core", "Core services", "What customers use", 1, ("api", "web")),),
        components=components,
        incidents=(active, old),
        maintenances=(maintenance,),
        histories=(
            history("api", {0: (0.95, ("inc-open",)), 12: (0.997, ())}),
            history("web", {40: (0.99, ("inc-old",))}),
            history("email", {}),
            history("sms", {}),
        ),
        indicator=Indicator.MAJOR,
        description="Partial System Outage",
    )
