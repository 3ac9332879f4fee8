"""``tocsin check --explain``: what the rules do with one alert, step by step.

A pure function of the rules, the alert and an instant; the command line only prints
the result. It shows the mutes that could apply, every categorisation rule and route
tried in order, and the resulting incident(s): group key, category, service, impact,
urgency, priority, SLA, the escalation policy and where it came from, and who that
policy would page (``tocsin serve`` pages through ``escalation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.assignment import PolicyChoice
from rules.categorise import Categorisation
from rules.model import Rules
from rules.muting import InhibitRule
from rules.policies import EscalationPolicy
from rules.priority import SlaTarget, priority_name
from rules.routing import Route, RouteVisit, trace_routes
from rules.sla_lookup import sla_escalation_for, support_hours_for
from rules.sla_rules import SlaEscalation, SupportHours


@dataclass(frozen=True, slots=True)
class AlertInput:
    """The parts of an alert the rules look at."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class MuteCheck:
    """A silence or maintenance window whose matchers cover the alert, and if it is active."""

    kind: str  # "silence" or "maintenance window"
    name: str
    active: bool
    when: str  # when it is in force


@dataclass(frozen=True, slots=True)
class InhibitionCheck:
    """An inhibit rule the alert takes part in, as a possible target and/or source."""

    name: str
    as_target: bool  # a firing alert matching the source side would mute this alert
    as_source: bool  # this alert, while firing, mutes matching targets
    rule: InhibitRule


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One level of a policy: paged this long after the incident opens (first round)."""

    after: timedelta
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoutedIncident:
    """The incident an alert opens or joins on one matched route."""

    route: Route
    group_key: str
    group_labels: Mapping[str, str]
    policy: EscalationPolicy | None
    steps: tuple[EscalationStep, ...]  # who the policy would page, once paging is built
    policy_choice: PolicyChoice | None = None  # where ``policy`` came from


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything the rules decide about one alert, in the order they decide it."""

    alert: AlertInput
    mutes: tuple[MuteCheck, ...]
    inhibitions: tuple[InhibitionCheck, ...]
    categorisation: Categorisation
    impact_name: str
    urgency_name: str
    sla: SlaTarget | None
    route_visits: tuple[RouteVisit, ...]
    incidents: tuple[RoutedIncident, ...]
    # Who SLA warnings and breaches page, and the support hours that apply (if any) and
    # whether they limit this incident (escalation.sla_pages, escalation.support_hours).
    sla_escalation: SlaEscalation | None = None
    support_hours: SupportHours | None = None
    support_limited: bool = False

    @property
    def muted_now(self) -> bool:
        """Whether an active silence or maintenance window mutes the alert right now."""
        return any(m.active for m in self.mutes)


def explain(rules: Rules, alert: AlertInput, now: datetime) -> Explanation:
    """Explains what ``rules`` do with ``alert`` at the instant ``now``."""
    labels = alert.labels
    mutes = [
        MuteCheck("silence", s.name or s.comment, s.active_at(now), f"{s.starts_at} - {s.ends_at}")
        for s in rules.silences
        if s.matches(labels)
    ]
    mutes += [
        MuteCheck("maintenance window", w.name, w.active_at(now), w.describe())
        for w in rules.maintenance_windows
        if w.matches(labels)
    ]
    inhibitions = tuple(
        InhibitionCheck(
            r.name or f"inhibit_rules[{i}]", r.is_target(labels), r.is_source(labels), r
        )
        for i, r in enumerate(rules.inhibit_rules)
        if r.is_target(labels) or r.is_source(labels)
    )
    categorisation = rules.categorise(labels, alert.annotations)
    matrix = rules.priority.matrix
    routes, visits = trace_routes(rules.route, labels)
    incidents = tuple(_incident(rules, route, labels, categorisation) for route in routes)
    team, service = categorisation.team, categorisation.service
    hours = support_hours_for(rules, team, service)
    priority = priority_name(categorisation.priority)
    limited = hours is not None and hours.limits(categorisation.urgency, priority, matrix)
    return Explanation(
        alert=alert,
        mutes=tuple(mutes),
        inhibitions=inhibitions,
        categorisation=categorisation,
        impact_name=matrix.impacts[categorisation.impact - 1],
        urgency_name=matrix.urgencies[categorisation.urgency - 1],
        sla=rules.priority.sla_for(categorisation.priority),
        route_visits=visits,
        incidents=incidents,
        sla_escalation=sla_escalation_for(rules, team, service),
        support_hours=hours,
        support_limited=limited,
    )


def _incident(
    rules: Rules, route: Route, labels: Mapping[str, str], categorisation: Categorisation
) -> RoutedIncident:
    choice = rules.policy_for(route, categorisation)
    policy = rules.escalation_policies.get(choice.policy) if choice.policy else None
    steps: list[EscalationStep] = []
    elapsed = timedelta(0)
    for level in policy.levels if policy else ():
        steps.append(EscalationStep(elapsed, tuple(str(t) for t in level.targets)))
        elapsed += level.delay
    return RoutedIncident(
        route=route,
        group_key=route.group_key(labels),
        group_labels=route.group_labels(labels),
        policy=policy,
        steps=tuple(steps),
        policy_choice=choice,
    )


def alert_from_json(value: object) -> AlertInput:
    """Reads an alert as Alertmanager's API writes it: ``{"labels": {}, "annotations": {}}``.

    Other fields (``startsAt``, ``generatorURL``, ...) are allowed and ignored. Raises
    ValueError saying what is wrong.
    """
    if not isinstance(value, dict):
        raise ValueError('an alert must be a JSON object with "labels"')
    if "labels" not in value:
        raise ValueError('the alert has no "labels"')
    return AlertInput(
        labels=_string_map(value["labels"], "labels"),
        annotations=_string_map(value.get("annotations", {}), "annotations"),
    )


def alerts_from_json(value: object) -> list[AlertInput]:
    """Reads one alert object or a list of them."""
    items = value if isinstance(value, list) else [value]
    alerts = []
    for index, item in enumerate(items):
        try:
            alerts.append(alert_from_json(item))
        except ValueError as exc:
            raise ValueError(
                f"alert {index}: {exc}" if isinstance(value, list) else str(exc)
            ) from exc
    if not alerts:
        raise ValueError("the list holds no alerts")
    return alerts


def _string_map(value: object, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f'"{name}" must map names to string values')
    return dict(value)
