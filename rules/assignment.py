"""Which escalation policy an incident gets, and where that choice came from.

The routing tree decides first, but only a route below the root names a policy for a
reason of its own; the root's policy is the tree's catch-all default. In between, the
service catalogue speaks: an incident whose service or team (from categorisation)
names a policy gets that one, so that an alert about checkout reaches the payments
team that owns checkout without a route per service. In order:

1. ``route``: a route below the root (the matched one or an ancestor) names a policy;
2. ``service``: the incident's service names one;
3. ``team``: the incident's team names one;
4. ``default``: the root route names one;
5. ``none``: nothing does, and nobody would be paged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rules.people import Team
from rules.routing import Route
from rules.services import Service

# The key the root route is read at; its policy is the default one.
ROOT_PATH = "route"


class PolicySource(enum.StrEnum):
    """What supplied an incident's escalation policy."""

    ROUTE = "route"
    SERVICE = "service"
    TEAM = "team"
    DEFAULT = "default"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """The policy an incident gets (None: none) and what supplied it."""

    policy: str | None
    source: PolicySource
    detail: str  # e.g. "route.routes[1]", "service checkout", "team payments"

    def describe(self) -> str:
        """Says where the policy came from, e.g. ``from team payments (no route names one)``."""
        if self.source is PolicySource.ROUTE:
            return f"from the route at {self.detail}"
        if self.source is PolicySource.DEFAULT:
            return "the root route's default"
        if self.source is PolicySource.NONE:
            return "none: no route, service or team names one"
        return f"from {self.detail}, as no route below the root names one"


def choose_policy(route: Route, service: Service | None, team: Team | None) -> PolicyChoice:
    """Chooses the escalation policy of an incident on ``route`` of ``service`` and ``team``."""
    if route.policy is not None and route.policy_from not in (None, ROOT_PATH):
        return PolicyChoice(route.policy, PolicySource.ROUTE, route.policy_from or route.path)
    if service is not None and service.policy is not None:
        return PolicyChoice(service.policy, PolicySource.SERVICE, f"service {service.name}")
    if team is not None and team.policy is not None:
        return PolicyChoice(team.policy, PolicySource.TEAM, f"team {team.name}")
    if route.policy is not None:
        return PolicyChoice(route.policy, PolicySource.DEFAULT, route.policy_from or ROOT_PATH)
    return PolicyChoice(None, PolicySource.NONE, "")
