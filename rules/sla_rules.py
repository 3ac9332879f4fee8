"""Who an SLA warning or breach reaches, and support hours: the rules' definitions.

**SLA escalation** (ITIL's two kinds): *functional* hands the incident to the next
support tier (a team, a schedule, or an escalation policy's first level); *hierarchical*
tells a manager (a person). A team's ``sla_escalation`` applies to its incidents, the
``priority`` section's to incidents of a team without one (or of no team).

**Support hours**: the weekly windows, in a time zone, in which a service's or team's
incidents of the named urgencies or priorities page people; outside them those wait
for the next window instead of waking anyone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from rules.calendar import WeeklyWindow
from rules.policies import Target


class UrgencyLevels(Protocol):
    """The urgency levels of the priority matrix (``rules.priority.PriorityMatrix``)."""

    @property
    def urgencies(self) -> tuple[str, ...]: ...

    def urgency_level(self, text: str) -> int | None: ...


class SlaEscalationKind(enum.StrEnum):
    """The two escalations ITIL names."""

    FUNCTIONAL = "functional"  # the next support tier
    HIERARCHICAL = "hierarchical"  # a manager


@dataclass(frozen=True, slots=True)
class SlaEscalation:
    """Who is paged when an SLA clock passes a warning threshold or breaches.

    ``hierarchical`` None: the manager (``people[].manager``) of the incident's
    assignee, if it has one. ``on_warning`` / ``on_breach``: which kinds each fires.
    """

    functional: Target | None = None  # kind team, schedule or policy-as-team (see below)
    functional_policy: str | None = None  # an escalation policy: its first level's targets
    hierarchical: str | None = None
    on_warning: frozenset[SlaEscalationKind] = frozenset({SlaEscalationKind.FUNCTIONAL})
    on_breach: frozenset[SlaEscalationKind] = frozenset(SlaEscalationKind)

    def describe(self) -> str:
        """``functional team tier2, hierarchical boss; warnings: functional; breach: ...``."""
        if self.functional is not None:
            functional = str(self.functional)
        elif self.functional_policy is not None:
            functional = f"policy {self.functional_policy} (its first level)"
        else:
            functional = "none"
        manager = self.hierarchical or "the assignee's manager"
        return (
            f"functional {functional}, hierarchical {manager}; "
            f"warnings: {_kinds(self.on_warning)}; breach: {_kinds(self.on_breach)}"
        )


@dataclass(frozen=True, slots=True)
class SupportHours:
    """When a service's or team's limited incidents may page people.

    An incident is limited when its urgency is one of ``urgencies`` (level names or
    numbers as written; None: the matrix's lowest urgency) or its priority name
    (``P4``) one of ``priorities``.
    """

    time_zone: ZoneInfo
    windows: tuple[WeeklyWindow, ...]
    urgencies: tuple[str, ...] | None = None
    priorities: frozenset[str] = frozenset()

    def limits(self, urgency: int | None, priority: str | None, matrix: UrgencyLevels) -> bool:
        """Tells whether an incident of this urgency and priority waits for the hours."""
        if priority is not None and priority in self.priorities:
            return True
        if urgency is None:
            return False
        if self.urgencies is None:
            return urgency == len(matrix.urgencies)
        return urgency in {matrix.urgency_level(u) for u in self.urgencies}

    def describe(self) -> str:
        """``Europe/Berlin mon,tue,wed,thu,fri 09:00-17:00`` (windows joined by ``; ``)."""
        return f"{self.time_zone.key} " + "; ".join(str(w) for w in self.windows)


def _kinds(kinds: frozenset[SlaEscalationKind]) -> str:
    return ", ".join(k.value for k in SlaEscalationKind if k in kinds) or "nobody"
