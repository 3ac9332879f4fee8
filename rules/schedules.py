"""On-call schedules as defined in the rules: layers of rotations, restrictions, overrides.

Only the definition lives here. Who is on call at a given instant is computed by the
escalation stage from these values, with one rule set for the pager and any display:

- a layer's rotation hands over every ``length`` of wall-clock time in the layer's zone,
  starting with its first member at ``handoff``;
- a layer is on call only inside its restrictions (all the time when it has none);
- where layers overlap, the later layer in the list wins (as PagerDuty's lower layers);
- an override puts its person on call for its time range, above every layer (where
  overrides overlap, the later one in the list wins);
- before its first handoff (or its ``start``) and from its ``end``, a layer covers nobody.

``escalation.oncall`` computes final shifts from these, with GoAlert's DST rules for
wall-clock times (docs/rules.md, "schedules").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import WeeklyWindow


@dataclass(frozen=True, slots=True)
class Rotation:
    """Members take turns of ``length``; the first turn starts at ``handoff``."""

    length: timedelta
    handoff: datetime  # aware, in the layer's zone; also fixes the time of day of handoffs


@dataclass(frozen=True, slots=True)
class Layer:
    """One rotation of people, optionally limited to some hours of the week."""

    name: str
    members: tuple[str, ...]  # person names, in turn order
    rotation: Rotation
    time_zone: ZoneInfo
    restrictions: tuple[WeeklyWindow, ...] = ()  # read in ``time_zone``; empty = always
    start: datetime | None = None  # the layer applies from here (aware) ...
    end: datetime | None = None  # ... until here (aware)


@dataclass(frozen=True, slots=True)
class Override:
    """``person`` is on call from ``start`` to ``end`` instead of whoever the layers say."""

    person: str
    start: datetime  # aware
    end: datetime  # aware, after start


@dataclass(frozen=True, slots=True)
class Schedule:
    """Who is on call for something, over time."""

    name: str
    display_name: str
    time_zone: ZoneInfo
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()

    @property
    def zones(self) -> tuple[ZoneInfo, ...]:
        """Every zone the schedule's layers are read in, the schedule's own first."""
        zones = [self.time_zone]
        for layer in self.layers:
            if layer.time_zone not in zones:
                zones.append(layer.time_zone)
        return tuple(zones)

    @property
    def members(self) -> tuple[str, ...]:
        """Everyone who can be on call in this schedule, layers then overrides."""
        names: list[str] = []
        for person in [m for layer in self.layers for m in layer.members] + [
            o.person for o in self.overrides
        ]:
            if person not in names:
                names.append(person)
        return tuple(names)
