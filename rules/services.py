"""The service catalogue: what the company runs, who owns it, what customers see of it."""

from __future__ import annotations

from dataclasses import dataclass

from rules.sla_rules import SupportHours


@dataclass(frozen=True, slots=True)
class Service:
    """A service; categorisation rules name it, and inherit its team and components."""

    name: str
    display_name: str
    description: str = ""
    team: str | None = None  # the owning team
    components: tuple[str, ...] = ()  # public status page components it affects
    policy: str | None = None  # its incidents' escalation policy, unless a route names one
    support_hours: SupportHours | None = None  # when its limited incidents page (over the team's)
