"""Categorisation: ordered rules, first match wins unless continue, then service and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.model import Rules
from tests.rules.helpers import load_text

RULES = """\
teams:
  - {name: web, members: [ana]}
  - {name: db, members: [ana]}
people:
  - {name: ana, contacts: [{channel: hook}]}
channels:
  - {name: hook, webhook: {url: "https://example.com/hook"}}
services:
  - {name: shop, team: web, components: [site]}
status_page:
  name: S
  components: [{name: site, display_name: Site}, {name: api, display_name: API}]
categories:
  - name: db
    matchers: ['alertname=~"Postgres.*"']
    category: database
    team: db
    tasks: [Check replication]
    continue: true
  - name: shop
    matchers: ['service="shop"']
    service: shop
    category: availability
    impact: high
    tasks: [Check the load balancer, Check replication]
    continue: true
  - name: critical
    matchers: ['severity="critical"']
    urgency: high
    title: "{{ labels.alertname }} is {{ priority }}"
  - name: never-reached-after-critical
    matchers: ['severity="critical"']
    urgency: low
    impact: low
"""


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return load_text(tmp_path, RULES)


def test_continue_lets_later_rules_fill_what_is_left(rules: Rules) -> None:
    result = rules.categorise(
        {"alertname": "PostgresDown", "service": "shop", "severity": "critical"}
    )
    assert (result.category, result.service, result.team) == ("database", "shop", "db")
    assert (result.impact, result.urgency, result.priority_name) == (1, 1, "P1")
    # Tasks add up in order, without repeats; the service gives the components.
    assert result.tasks == ("Check replication", "Check the load balancer")
    assert result.components == ("site",)
    assert result.title == "PostgresDown is P1"


def test_the_first_match_without_continue_ends_the_search(rules: Rules) -> None:
    result = rules.categorise({"alertname": "X", "severity": "critical"})
    assert [(o.name, o.matched) for o in result.outcomes] == [
        ("db", False),
        ("shop", False),
        ("critical", True),
    ]
    assert (result.impact, result.urgency) == (3, 1)


def test_the_service_gives_team_and_components(rules: Rules) -> None:
    result = rules.categorise({"service": "shop"})
    assert (result.team, result.components) == ("web", ("site",))
    assert dict(result.decided_by)["team"] == "service shop"


def test_nothing_matches_gives_the_defaults(rules: Rules) -> None:
    result = rules.categorise({"alertname": "Unknown"})
    assert (result.category, result.service, result.team, result.priority_name) == (
        "uncategorised",
        None,
        None,
        "P5",
    )
    assert result.title == "Unknown"
