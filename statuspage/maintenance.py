"""Scheduled maintenance: from the rules' windows and from the status API.

A rules window (``maintenance_windows`` with ``components``) shows as a maintenance for
its current occurrence (in progress) and its next one (scheduled), named after the
components it affects, never after the window's name or comment (internal text).

A window occurrence's id is opaque (a hash of the window's name and start): the name is
internal text. An occurrence in progress has two updates, scheduled and in progress.

A maintenance written through the API keeps the status operators give it, moved on by
the clock: a scheduled one is in progress from ``scheduled_for``, and any that is not
completed is completed at ``scheduled_until``; the writer adds an update for each such
move (:func:`clock_updates`), at the time it happened. While in progress or verifying,
its components are under maintenance.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from rules.calendar import MINUTES_PER_DAY
from rules.muting import MaintenanceWindow
from rules.status import StatusPage
from statuspage.model import MaintenanceStatus, MaintenanceUpdate, PublicMaintenance

ACTIVE = frozenset({MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING})
# How far ahead a weekly window's next occurrence is looked for.
_WEEK = 8


def effective(maintenance: PublicMaintenance, now: datetime) -> PublicMaintenance:
    """The maintenance with its status as the clock moves it (see the module docstring)."""
    status = maintenance.status
    if status is not MaintenanceStatus.COMPLETED and now >= maintenance.scheduled_until:
        status = MaintenanceStatus.COMPLETED
    elif status is MaintenanceStatus.SCHEDULED and now >= maintenance.scheduled_for:
        status = MaintenanceStatus.IN_PROGRESS
    if status is maintenance.status:
        return maintenance
    return dataclasses.replace(maintenance, status=status)


def window_components(window: MaintenanceWindow, page: StatusPage) -> tuple[str, ...]:
    """The window's components that the page has (others publish nothing)."""
    return tuple(c for c in window.components if page.component(c) is not None)


def under_maintenance(
    windows: Iterable[MaintenanceWindow],
    maintenances: Iterable[PublicMaintenance],
    page: StatusPage,
    at: datetime,
) -> set[str]:
    """The components under maintenance at ``at``: active windows and API maintenances."""
    found: set[str] = set()
    for window in windows:
        if window.components and window.active_at(at):
            found.update(window_components(window, page))
    for maintenance in maintenances:
        if effective(maintenance, at).status in ACTIVE:
            found.update(c for c in maintenance.component_ids if page.component(c) is not None)
    return found


def window_maintenances(
    windows: Sequence[MaintenanceWindow], page: StatusPage, now: datetime, key: str
) -> list[PublicMaintenance]:
    """The current and next occurrence of each rules window that names a component;
    ``key``: the page's id key (``records.PageState.id_key``, see :func:`window_id`)."""
    found: list[PublicMaintenance] = []
    for window in windows:
        components = window_components(window, page)
        if not components:
            continue
        for start, end in _occurrences(window, now):
            found.append(_public(window, components, page, start, end, now, key))
    return found


def _occurrences(window: MaintenanceWindow, now: datetime) -> list[tuple[datetime, datetime]]:
    """The occurrence that contains ``now`` (if any) and the next one after it."""
    if window.starts_at is not None and window.ends_at is not None:
        span = (window.starts_at.astimezone(UTC), window.ends_at.astimezone(UTC))
        return [span] if now < window.ends_at else []
    spans: list[tuple[datetime, datetime]] = []
    if window.cron is not None:
        last = window.last_start(now)
        if last is not None and now < last + window.duration:
            spans.append((last, last + window.duration))
        following = window.cron.next_start(now, window.time_zone)
        if following is not None:
            spans.append((following, following + window.duration))
        return spans
    local_today = now.astimezone(window.time_zone).date()
    candidates = sorted(
        span
        for offset in range(-1, _WEEK)
        for weekly in window.weekly
        for span in _weekly_span(window, weekly.days, weekly.start, weekly.end, local_today, offset)
    )
    current = [s for s in candidates if s[0] <= now < s[1]]
    upcoming = [s for s in candidates if s[0] > now]
    return current[:1] + upcoming[:1]


def _weekly_span(
    window: MaintenanceWindow,
    days: frozenset[int],
    start: int,
    end: int,
    today: date,
    offset: int,
) -> list[tuple[datetime, datetime]]:
    day = today + timedelta(days=offset)
    if day.weekday() not in days:
        return []
    end_day = day if end > start else day + timedelta(days=1)
    return [(_local(day, start, window), _local(end_day, end, window))]


def _local(day: date, minutes: int, window: MaintenanceWindow) -> datetime:
    # Wall-clock minutes of a day in the window's zone (24:00 is the next midnight).
    if minutes >= MINUTES_PER_DAY:
        day, minutes = day + timedelta(days=1), minutes - MINUTES_PER_DAY
    naive = datetime.combine(day, time(minutes // 60, minutes % 60))
    return naive.replace(tzinfo=window.time_zone).astimezone(UTC)


def _public(
    window: MaintenanceWindow,
    components: tuple[str, ...],
    page: StatusPage,
    start: datetime,
    end: datetime,
    now: datetime,
    key: str,
) -> PublicMaintenance:
    names = ", ".join(page.component(c).display_name for c in components)  # type: ignore[union-attr]
    ident = window_id(window, start, key)
    # Not ``now``: that moved at every build and differed between replicas. The start of
    # the UTC day stands for "first seen": the same for every build and replica all day.
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    created = start if start <= now else midnight
    scheduled = MaintenanceUpdate(
        f"{ident}-1",
        MaintenanceStatus.SCHEDULED,
        f"Scheduled maintenance of {names}.",
        created,
        created,
    )
    updates: tuple[MaintenanceUpdate, ...] = (scheduled,)
    status = MaintenanceStatus.SCHEDULED
    if start <= now:
        status = MaintenanceStatus.IN_PROGRESS
        body = in_progress_body(names)
        updates = (MaintenanceUpdate(f"{ident}-2", status, body, start, start), scheduled)
    return PublicMaintenance(
        id=ident,
        name=f"Scheduled maintenance: {names}",
        status=status,
        scheduled_for=start,
        scheduled_until=end,
        component_ids=components,
        updates=updates,
        created_at=created,
        updated_at=updates[0].created_at,
    )


def window_id(window: MaintenanceWindow, start: datetime, key: str) -> str:
    """A window occurrence's public id: stable, and opaque (the window's name is
    internal text, never published). Keyed with the page's secret ``key`` (hex): an
    unkeyed hash of name and start would let anyone confirm a guessed name offline."""
    digest = hashlib.blake2b(digest_size=8, key=bytes.fromhex(key))
    digest.update(f"{window.name}\x00{start.astimezone(UTC).isoformat()}".encode())
    return f"window-{digest.hexdigest()}"


def in_progress_body(names: str) -> str:
    """The text of the update a maintenance gets when its start time comes."""
    return f"Scheduled maintenance of {names} is in progress."


def completed_body(names: str) -> str:
    """The text of the update a maintenance gets when its end time comes."""
    return f"Scheduled maintenance of {names} is completed."


def clock_updates(
    maintenance: PublicMaintenance, names: str, now: datetime
) -> list[tuple[datetime, MaintenanceStatus, str]]:
    """The updates the clock gives a maintenance by ``now`` that it lacks: in progress
    at its start (if it was scheduled), completed at its end; (when, status, body).

    None is dated before the maintenance's newest update (one posted after its start
    was), so the timeline stays newest first."""
    found: list[tuple[datetime, MaintenanceStatus, str]] = []
    status = maintenance.status
    if status is MaintenanceStatus.COMPLETED:
        return found
    latest = max((u.created_at for u in maintenance.updates), default=maintenance.created_at)
    if status is MaintenanceStatus.SCHEDULED and now >= maintenance.scheduled_for:
        latest = max(maintenance.scheduled_for, latest)
        found.append((latest, MaintenanceStatus.IN_PROGRESS, in_progress_body(names)))
    if now >= maintenance.scheduled_until:
        at = max(maintenance.scheduled_until, latest)
        found.append((at, MaintenanceStatus.COMPLETED, completed_body(names)))
    return found
