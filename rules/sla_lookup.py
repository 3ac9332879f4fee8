"""Which ``sla_escalation`` and which ``support_hours`` apply to an incident.

One answer for the SLA stage, the escalation decisions and ``tocsin check --explain``:
the incident's team is its own, else its service's owning team; a team's
``sla_escalation`` wins over the ``priority`` section's, a service's ``support_hours``
over its team's.
"""

from __future__ import annotations

from rules.model import Rules
from rules.people import Team
from rules.sla_rules import SlaEscalation, SupportHours


def owning_team(rules: Rules, team: str | None, service: str | None) -> Team | None:
    """The incident's team: its own, else its service's owner (None: neither is known)."""
    found = rules.services.get(service or "")
    return rules.teams.get(team or (found.team if found else None) or "")


def sla_escalation_for(rules: Rules, team: str | None, service: str | None) -> SlaEscalation | None:
    """The SLA escalation of an incident of ``team`` and ``service``."""
    owner = owning_team(rules, team, service)
    if owner is not None and owner.sla_escalation is not None:
        return owner.sla_escalation
    return rules.priority.sla_escalation


def support_hours_for(rules: Rules, team: str | None, service: str | None) -> SupportHours | None:
    """The support hours of an incident of ``team`` and ``service``."""
    found = rules.services.get(service or "")
    if found is not None and found.support_hours is not None:
        return found.support_hours
    owner = owning_team(rules, team, service)
    return None if owner is None else owner.support_hours
