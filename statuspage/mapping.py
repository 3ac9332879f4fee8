"""What decides a component's status, an incident's impact and the page's indicator.

The documented mapping (README "Status page", docs/rules.md ``status_page.publish``):

- A public incident from the rules sets the status the rules give its priority
  (``status_page.publish.component_status``; by default P1 major outage, P2 partial
  outage, P3 and P4 degraded performance, P5 operational) on each component it
  affects. The priority is the rules' product of the incident's impact and urgency.
- Its public impact follows that status: major outage critical, partial outage major,
  degraded performance minor, operational none.
- A component's status is the worst that its open public incidents set, ranked
  operational < degraded performance < under maintenance < partial outage < major
  outage: an active maintenance puts a component under maintenance unless an incident
  says it is (partly) down, which customers need to know even during maintenance.
- The page's indicator and its description go together (:func:`overall`): one P1
  incident on one component is critical, "Major Service Outage", on the banner as in
  ``status.json``.
"""

from __future__ import annotations

from collections.abc import Iterable

from statuspage.model import ComponentStatus, Impact, Indicator, PublicIncident

_RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.DEGRADED_PERFORMANCE: 1,
    ComponentStatus.UNDER_MAINTENANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}

IMPACT_OF_STATUS = {
    ComponentStatus.OPERATIONAL: Impact.NONE,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
    ComponentStatus.UNDER_MAINTENANCE: Impact.NONE,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
}

# What an operator's impact sets on components given as a plain list of ids.
STATUS_OF_IMPACT = {
    Impact.NONE: ComponentStatus.OPERATIONAL,
    Impact.MINOR: ComponentStatus.DEGRADED_PERFORMANCE,
    Impact.MAJOR: ComponentStatus.PARTIAL_OUTAGE,
    Impact.CRITICAL: ComponentStatus.MAJOR_OUTAGE,
}

_IMPACT_RANK = {Impact.NONE: 0, Impact.MINOR: 1, Impact.MAJOR: 2, Impact.CRITICAL: 3}


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The worst of the statuses by the ranking above; operational when there is none."""
    return max(statuses, key=_RANK.__getitem__, default=ComponentStatus.OPERATIONAL)


def worst_impact(impacts: Iterable[Impact]) -> Impact:
    """The worst impact; none when there is none."""
    return max(impacts, key=_IMPACT_RANK.__getitem__, default=Impact.NONE)


# One description per indicator, Statuspage's words: the banner, status.json, the
# badge and the feeds can never disagree with the indicator.
DESCRIPTIONS = {
    Indicator.NONE: "All Systems Operational",
    Indicator.MINOR: "Minor Service Outage",
    Indicator.MAJOR: "Partial System Outage",
    Indicator.CRITICAL: "Major Service Outage",
}
MAINTENANCE_DESCRIPTION = "Service Under Maintenance"

_INDICATOR_RANK = {Indicator.NONE: 0, Indicator.MINOR: 1, Indicator.MAJOR: 2, Indicator.CRITICAL: 3}


def overall(
    statuses: Iterable[ComponentStatus], open_incidents: Iterable[PublicIncident]
) -> tuple[Indicator, str]:
    """The page's indicator and description, from component statuses and open incidents.

    The indicator is the worse of the components' rollup and the worst impact of an
    open public incident (Statuspage's indicator follows its incidents' impact). The
    rollup: every component in major outage critical; some major; a partial outage or
    degraded performance minor; else none. The description is the indicator's own
    (:data:`DESCRIPTIONS`), or "Service Under Maintenance" when it is none and a
    component is under maintenance.
    """
    seen = list(statuses)
    majors = sum(s is ComponentStatus.MAJOR_OUTAGE for s in seen)
    if seen and majors == len(seen):
        indicator = Indicator.CRITICAL
    elif majors:
        indicator = Indicator.MAJOR
    elif ComponentStatus.PARTIAL_OUTAGE in seen or ComponentStatus.DEGRADED_PERFORMANCE in seen:
        indicator = Indicator.MINOR
    else:
        indicator = Indicator.NONE
    raised = Indicator(worst_impact(i.impact for i in open_incidents if i.is_open).value)
    if _INDICATOR_RANK[raised] > _INDICATOR_RANK[indicator]:
        indicator = raised
    if indicator is Indicator.NONE and ComponentStatus.UNDER_MAINTENANCE in seen:
        return indicator, MAINTENANCE_DESCRIPTION
    return indicator, DESCRIPTIONS[indicator]
