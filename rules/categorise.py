"""Categorisation: ordered rules that say what an incident is, from its first alert's labels.

Rules are tried in order. A rule matches when all its matchers match; it sets the fields
it names that no earlier matching rule set, and adds its tasks. The first matching rule
ends the search unless it says ``continue: true`` (as routes do). A service no rule set
comes from the alert's ``service`` label when that names a service of the catalogue.
Fields still unset then come from the service (its team and components) and finally
from the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.correlation import TuningOverride
from rules.matchers import Matcher, first_mismatch
from rules.priority import PriorityMatrix, priority_name
from rules.services import Service
from rules.templates import Template

UNCATEGORISED = "uncategorised"
# The label that may name the incident's service (see categorise).
SERVICE_LABEL = "service"


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """One categorisation rule; None means the rule leaves that field to others."""

    matchers: tuple[Matcher, ...]
    name: str | None = None
    category: str | None = None
    service: str | None = None
    impact: str | None = None  # a level name or number of the priority matrix
    urgency: str | None = None
    team: str | None = None
    components: tuple[str, ...] | None = None
    tasks: tuple[str, ...] = ()  # runbook tasks added to the incident
    runbook: str | None = None  # a link to the runbook
    title: Template | None = None
    continue_matching: bool = False  # ``continue`` in YAML
    # Correlation timings for incidents of ``category`` (over the route's and the section's).
    correlation: TuningOverride | None = None


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """How one rule fared against an alert, for ``tocsin check --explain``."""

    index: int
    name: str | None
    matched: bool
    mismatch: str | None  # the first matcher that failed
    applied: tuple[str, ...]  # the fields this rule decided


@dataclass(frozen=True, slots=True)
class Categorisation:
    """What an incident is, decided from its first alert."""

    category: str
    service: str | None
    impact: int
    urgency: int
    priority: int
    team: str | None
    components: tuple[str, ...]
    tasks: tuple[str, ...]
    runbook: str | None
    title: str
    decided_by: tuple[tuple[str, str], ...]  # (field, "categories[2]" / "service x" / "default")
    outcomes: tuple[RuleOutcome, ...]  # the rules tried, in order

    @property
    def priority_name(self) -> str:
        """The priority written as ``P1`` ... ``Pn``."""
        return priority_name(self.priority)


_FIELDS = ("category", "service", "impact", "urgency", "team", "components", "runbook", "title")


def categorise(
    rules: Sequence[CategoryRule],
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    *,
    services: Mapping[str, Service],
    matrix: PriorityMatrix,
    default_title: Template,
) -> Categorisation:
    """Applies the rules to one alert's labels and returns the categorisation."""
    chosen: dict[str, object] = {}
    decided: dict[str, str] = {}
    tasks: list[str] = []
    outcomes: list[RuleOutcome] = []
    for index, rule in enumerate(rules):
        miss = first_mismatch(rule.matchers, labels)
        if miss is not None:
            outcomes.append(RuleOutcome(index, rule.name, False, str(miss), ()))
            continue
        applied = []
        for name in _FIELDS:
            value = getattr(rule, name)
            if value is not None and name not in chosen:
                chosen[name] = value
                decided[name] = f"categories[{index}]"
                applied.append(name)
        tasks.extend(t for t in rule.tasks if t not in tasks)
        outcomes.append(RuleOutcome(index, rule.name, True, None, tuple(applied)))
        if not rule.continue_matching:
            break
    if "service" not in chosen and labels.get(SERVICE_LABEL, "") in services:
        # Named by the alert itself: no category rule per service is needed.
        chosen["service"] = labels[SERVICE_LABEL]
        decided["service"] = f"label {SERVICE_LABEL}"
    service_name = _text(chosen.get("service"))
    service = services.get(service_name) if service_name else None
    if service is not None:
        if "team" not in chosen and service.team is not None:
            chosen["team"] = service.team
            decided["team"] = f"service {service.name}"
        if "components" not in chosen and service.components:
            chosen["components"] = service.components
            decided["components"] = f"service {service.name}"
    impact = matrix.impact_level(_text(chosen.get("impact")) or "") or matrix.default_impact
    urgency = matrix.urgency_level(_text(chosen.get("urgency")) or "") or matrix.default_urgency
    for name in ("category", "impact", "urgency", "title"):
        decided.setdefault(name, "default")
    category = _text(chosen.get("category")) or UNCATEGORISED
    priority = matrix.priority(impact, urgency)
    team = _text(chosen.get("team"))
    title_template = chosen.get("title")
    template = title_template if isinstance(title_template, Template) else default_title
    components = chosen.get("components")
    title = template.render(
        {
            "labels": labels,
            "annotations": annotations,
            "category": category,
            "service": service_name or "",
            "team": team or "",
            "priority": priority_name(priority),
            "alert_count": 1,
        },
        fallback=_plain_title(labels, annotations),
    )
    return Categorisation(
        category=category,
        service=service_name,
        impact=impact,
        urgency=urgency,
        priority=priority,
        team=team,
        components=components if isinstance(components, tuple) else (),
        tasks=tuple(tasks),
        runbook=_text(chosen.get("runbook")),
        title=title.strip() or _plain_title(labels, annotations),
        decided_by=tuple(sorted(decided.items())),
        outcomes=tuple(outcomes),
    )


def urgency_of(
    rules: Sequence[CategoryRule], labels: Mapping[str, str], matrix: PriorityMatrix
) -> tuple[int, str]:
    """Returns the urgency level :func:`categorise` gives these labels, and what decided it.

    The same search for this one field, without rendering the title: the correlator asks
    it for every alert that joins an incident, to raise the incident's urgency.
    """
    for index, rule in enumerate(rules):
        if first_mismatch(rule.matchers, labels) is not None:
            continue
        if rule.urgency is not None:
            level = matrix.urgency_level(rule.urgency) or matrix.default_urgency
            return level, f"categories[{index}]"
        if not rule.continue_matching:
            break
    return matrix.default_urgency, "default"


def _plain_title(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    # The title when no template gives one: what the alert is called, or what it says.
    return labels.get("alertname") or annotations.get("summary") or "Incident"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
