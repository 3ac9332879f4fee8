"""Support hours: when a service's or team's low-urgency incidents may page people.

:func:`next_support_instant` answers the escalation decisions' question "page now, or
wait until when?". The calendar is the incident's service's ``support_hours``, else
its team's (the incident's team, else the service's owning team); it limits only the
incidents whose urgency or priority it names (by default the matrix's lowest urgency),
as PagerDuty's "urgency by support hours" does.

Window edges are wall-clock times in the calendar's zone, turned into instants with
GoAlert's DST rules (``escalation.shifts.instant_of``): a start that a DST change
skips is the moment the clocks jump, one that occurs twice is its first occurrence. So
09:00-17:00 Europe/Berlin is 09:00-17:00 local on both sides of a change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from escalation.shifts import restriction_intervals
from rules.model import Rules
from rules.sla_lookup import support_hours_for
from rules.sla_rules import SupportHours

# Windows are weekly: one starts within a week and a day of any instant, if any does.
_LOOK_AHEAD = timedelta(days=8)


class SupportView(Protocol):
    """What the answer depends on; :class:`core.incident.Incident` is one."""

    @property
    def service(self) -> str | None: ...

    @property
    def team(self) -> str | None: ...

    @property
    def urgency(self) -> int | None: ...

    @property
    def priority(self) -> str | None: ...


def next_support_instant(rules: Rules, incident: SupportView, now: datetime) -> datetime | None:
    """When the incident may page: None means now (not limited, or inside the hours).

    Otherwise the UTC instant the next support window opens. A calendar whose windows
    never open (e.g. emptied by DST) never limits: a page is never held forever.
    """
    hours = support_hours_for(rules, incident.team, incident.service)
    if hours is None or not hours.limits(
        incident.urgency, incident.priority, rules.priority.matrix
    ):
        return None
    return next_window_start(hours, now)


def next_window_start(hours: SupportHours, now: datetime) -> datetime | None:
    """None if ``now`` is inside the calendar's windows, else when the next one opens."""
    spans = restriction_intervals(hours.windows, hours.time_zone, now, now + _LOOK_AHEAD)
    if not spans or spans[0][0] <= now:
        return None
    return spans[0][0]
