"""The rules as frozen dataclasses: what the loader produces and the rest of Tocsin trusts.

:class:`Rules` holds every section. The pieces live in one module per subject
(``routing``, ``priority``, ``schedules``, ...); the source and credential types are
re-exported here, where the ingest stage has always imported them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from core.lifecycle import LifecyclePolicy
from core.model import SourceKind
from core.problem_candidates import ProblemRules
from rules import defaults
from rules.api_keys import ApiKey
from rules.assignment import PolicyChoice, choose_policy
from rules.calendar_feeds import CalendarFeeds
from rules.categorise import Categorisation, CategoryRule, categorise
from rules.channels import Channel
from rules.correlation import Heartbeat, Tuning
from rules.credentials import BasicAuth, BearerAuth, Secret
from rules.muting import InhibitRule, MaintenanceWindow, Silence
from rules.notifications import NotificationTuning
from rules.people import Person, Team
from rules.policies import EscalationPolicy
from rules.priority import DEFAULT_PRIORITY, PriorityRules
from rules.routing import Route, default_route, find_route, route_for
from rules.schedules import Schedule
from rules.services import Service
from rules.status import StatusPage
from rules.templates import IncidentTemplates, TemplateCompiler

__all__ = ["BasicAuth", "BearerAuth", "RateLimit", "Rules", "Secret", "SourceConfig"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket per source: ``alerts_per_second`` sustained, ``burst`` at once."""

    alerts_per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One monitoring system allowed to send alerts, and how it proves who it is.

    PagerDuty-format sources carry their credential in the body (``routing_key``);
    all others use ``auth``.
    """

    name: str
    kind: SourceKind
    auth: BearerAuth | BasicAuth | None
    routing_key: Secret | None
    rate_limit: RateLimit | None
    # Labels removed from this source's alerts before the fingerprint (alert_relabel_configs'
    # labeldrop): two HA Prometheus replicas differing only in these make one alert.
    drop_labels: frozenset[str] = frozenset()


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


def _default_templates() -> IncidentTemplates:
    return defaults.incident_templates(TemplateCompiler())


def _default_status_page() -> StatusPage:
    return defaults.status_page(TemplateCompiler())


# How many (route, category, base) timings Rules.tuning_for keeps.
_TUNINGS_KEPT = 4_096


@dataclass(frozen=True, slots=True, eq=False)
class Rules:
    """Everything the rules files define, validated and cross-checked.

    Named things are read-only mappings from name to definition, in definition order;
    ordered rule lists are tuples.
    """

    sources: tuple[SourceConfig, ...]
    channels: Mapping[str, Channel] = field(default_factory=_empty)
    people: Mapping[str, Person] = field(default_factory=_empty)
    teams: Mapping[str, Team] = field(default_factory=_empty)
    schedules: Mapping[str, Schedule] = field(default_factory=_empty)
    escalation_policies: Mapping[str, EscalationPolicy] = field(default_factory=_empty)
    services: Mapping[str, Service] = field(default_factory=_empty)
    categories: tuple[CategoryRule, ...] = ()
    priority: PriorityRules = DEFAULT_PRIORITY
    route: Route = field(default_factory=default_route)
    silences: tuple[Silence, ...] = ()
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    correlation: Tuning = field(default_factory=Tuning)
    heartbeats: tuple[Heartbeat, ...] = ()
    api_keys: tuple[ApiKey, ...] = ()
    status_page: StatusPage = field(default_factory=_default_status_page)
    templates: IncidentTemplates = field(default_factory=_default_templates)
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    problems: ProblemRules = field(default_factory=ProblemRules)
    calendar_feeds: CalendarFeeds | None = None  # None: no calendar feed is served
    notifications: NotificationTuning = field(default_factory=NotificationTuning)
    # (route key, category, id of the base timings) -> (those base timings, the timings in
    # force); filled on first use. By the base's identity, not its value: hashing a Tuning
    # cost more than the rest of the look-up, which the correlator makes per alert. The
    # base is kept with the result, so its id is not reused while it is in here.
    _tunings: dict[tuple[str | None, str | None, int], tuple[Tuning, Tuning]] = field(
        default_factory=dict, init=False, repr=False
    )

    def sources_of_kind(self, kind: SourceKind) -> tuple[SourceConfig, ...]:
        """Returns the sources that send in the wire format ``kind``."""
        return tuple(s for s in self.sources if s.kind is kind)

    def categorise(
        self, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
    ) -> Categorisation:
        """Says what an incident opened by an alert with these labels is, and its priority."""
        return categorise(
            self.categories,
            labels,
            annotations or {},
            services=self.services,
            matrix=self.priority.matrix,
            default_title=self.templates.title,
        )

    def policy_for(self, route: Route | str, categorisation: Categorisation) -> PolicyChoice:
        """Chooses the escalation policy of an incident on ``route`` (or the route's key).

        A route below the root that names a policy wins; else the incident's service's,
        else its team's, else the root's (see ``rules.assignment``).
        """
        found = route if isinstance(route, Route) else find_route(self.route, route)
        service = self.services.get(categorisation.service or "")
        team = self.teams.get(categorisation.team or "")
        return choose_policy(found or self.route, service, team)

    def route_for(self, labels: Mapping[str, str]) -> tuple[Route, ...]:
        """Returns the routes an alert with these labels ends in (see ``rules.routing``)."""
        return route_for(self.route, labels)

    def tuning_for(
        self, route_key: str | None, category: str | None, base: Tuning | None = None
    ) -> Tuning:
        """The correlation timings of an incident on ``route_key`` in ``category``.

        The ``correlation`` section (or ``base``), then the route's ``correlation`` with
        what it inherits, then the ``correlation`` of the category rules naming
        ``category``, in rule order: the most specific setting wins.
        """
        base = self.correlation if base is None else base
        key = (route_key, category, id(base))
        cached = self._tunings.get(key)
        if cached is not None:
            return cached[1]
        found = base
        route = find_route(self.route, route_key) if route_key is not None else None
        if route is not None:
            found = route.correlation.over(found)
        for rule in self.categories:
            if category is not None and rule.category == category and rule.correlation:
                found = rule.correlation.over(found)
        if len(self._tunings) >= _TUNINGS_KEPT:
            self._tunings.clear()  # callers passing ever new bases: bounded all the same
        self._tunings[key] = (base, found)
        return found

    def silences_for(self, labels: Mapping[str, str], now: datetime) -> tuple[Silence, ...]:
        """Returns the silences in force at ``now`` that cover these labels."""
        return tuple(s for s in self.silences if s.active_at(now) and s.matches(labels))

    def maintenance_for(
        self, labels: Mapping[str, str], now: datetime
    ) -> tuple[MaintenanceWindow, ...]:
        """Returns the maintenance windows open at ``now`` that cover these labels."""
        return tuple(w for w in self.maintenance_windows if w.matches(labels) and w.active_at(now))
