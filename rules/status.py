"""The public status page as the rules define it: components, groups, public text.

Only what is written here (and what operators write later) reaches customers; alert
labels and annotations never do, which the template checks enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class StatusPage:
    """The page's settings, its components in page order, and its public text."""

    name: str
    url: str
    time_zone: ZoneInfo
    components: tuple[Component, ...]
    groups: tuple[ComponentGroup, ...]
    templates: PublicTemplates

    def component(self, name: str) -> Component | None:
        """Returns the component called ``name``, if there is one."""
        return next((c for c in self.components if c.name == name), None)
