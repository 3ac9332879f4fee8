"""The public status page as the rules define it: components, groups, public text.

Only what is written here (and what operators write later) reaches customers; alert
labels and annotations never do, which the template checks enforce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from rules.templates import Template


@dataclass(frozen=True, slots=True)
class ComponentGroup:
    """A heading that groups components on the page (Statuspage's component group)."""

    name: str
    display_name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Component:
    """A part of the service customers know by name, with its own status and uptime."""

    name: str
    display_name: str
    description: str = ""
    group: str | None = None
    showcase: bool = True  # show the 90-day uptime bar
    only_show_if_degraded: bool = False
    start_date: date | None = None  # uptime counts from here


@dataclass(frozen=True, slots=True)
class PublicTemplates:
    """Public incident text: a title and one update text per incident status."""

    title: Template
    investigating: Template
    identified: Template
    monitoring: Template
    resolved: Template


# The component statuses an incident's priority may set (maintenance comes from windows).
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
# Priority -> the status of the components a public incident affects (docs/rules.md).
DEFAULT_COMPONENT_STATUS: Mapping[str, str] = {
    "P1": "major_outage",
    "P2": "partial_outage",
    "P3": "degraded_performance",
    "P4": "degraded_performance",
    "P5": "operational",
}
# The priority names a rule may list (a matrix of 5 x 5 levels has P1 to P9).
PRIORITIES = tuple(f"P{n}" for n in range(1, 10))


@dataclass(frozen=True, slots=True)
class Publishing:
    """Which internal incidents become public, and what their priority does to components.

    An incident is published when it affects at least one component (from its category
    or service) and its priority and category are among those listed (None: any).
    """

    priorities: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    component_status: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_COMPONENT_STATUS)
    )

    def publishes(self, category: str | None, priority: str | None) -> bool:
        """Tells whether an incident of this category and priority goes on the page."""
        if self.priorities is not None and priority not in self.priorities:
            return False
        return self.categories is None or category in self.categories

    def status_for(self, priority: str | None) -> str:
        """The component status a public incident of ``priority`` sets (default P3's)."""
        default = self.component_status.get("P3", "degraded_performance")
        return self.component_status.get(priority or "", default)


@dataclass(frozen=True, slots=True)
class StatusPage:
    """The page's settings, its components in page order, and its public text."""

    name: str
    url: str
    time_zone: ZoneInfo
    components: tuple[Component, ...]
    groups: tuple[ComponentGroup, ...]
    templates: PublicTemplates
    publishing: Publishing = field(default_factory=Publishing)

    def component(self, name: str) -> Component | None:
        """Returns the component called ``name``, if there is one."""
        return next((c for c in self.components if c.name == name), None)
