"""Which escalation policy an incident gets: a route below the root, else its service's,
else its team's, else the root's default (issue 9, item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.assignment import PolicySource
from rules.model import Rules
from tests.rules.helpers import load_text, problems

POLICIES = "".join(
    f"  - {{name: {name}, levels: [{{delay: 5m, targets: [{{person: ana}}]}}]}}\n"
    for name in ("fallback", "shop", "payments", "db", "audit")
)
RULES = f"""\
escalation_policies:
{POLICIES}people:
  - {{name: ana, contacts: [{{channel: hook}}]}}
channels:
  - {{name: hook, webhook: {{url: "https://example.com/hook"}}}}
teams:
  - {{name: payments, members: [ana], policy: payments}}
  - {{name: shop, members: [ana]}}
services:
  - {{name: checkout, team: payments}}
  - {{name: storefront, team: shop, policy: shop}}
  - {{name: search, team: shop}}
categories:
  - {{matchers: ['service="checkout"'], service: checkout}}
  - {{matchers: ['service="storefront"'], service: storefront}}
  - {{matchers: ['service="search"'], service: search}}
route:
  policy: fallback
  routes:
    - name: database
      matchers: ['alertname=~"Postgres.*"']
      policy: db
      routes:
        - {{name: replication, matchers: ['alertname="PostgresReplicationLag"']}}
    - {{name: audit, matchers: ['severity="audit"'], policy: fallback}}
"""

CASES = [
    # The service names no policy; its team does: payments own checkout.
    ({"alertname": "CheckoutDown", "service": "checkout"}, "payments", PolicySource.TEAM),
    # The service's own policy comes before its team's (shop names none anyway).
    ({"alertname": "SlowPages", "service": "storefront"}, "shop", PolicySource.SERVICE),
    # Neither the service nor its team names one: the root's default.
    ({"alertname": "SlowSearch", "service": "search"}, "fallback", PolicySource.DEFAULT),
    # Not in the catalogue at all: the default too.
    ({"alertname": "Mystery"}, "fallback", PolicySource.DEFAULT),
    # A route below the root that names a policy wins over the catalogue...
    ({"alertname": "PostgresDown", "service": "checkout"}, "db", PolicySource.ROUTE),
    # ... also for a child route that inherits it from such a route...
    ({"alertname": "PostgresReplicationLag", "service": "checkout"}, "db", PolicySource.ROUTE),
    # ... and also when it names the same policy as the root.
    (
        {"alertname": "X", "service": "checkout", "severity": "audit"},
        "fallback",
        PolicySource.ROUTE,
    ),
]


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return load_text(tmp_path, RULES)


@pytest.mark.parametrize(("labels", "policy", "source"), CASES)
def test_policy_comes_from_route_service_team_or_default(
    rules: Rules, labels: dict[str, str], policy: str, source: PolicySource
) -> None:
    [route] = rules.route_for(labels)
    choice = rules.policy_for(route, rules.categorise(labels))
    assert (choice.policy, choice.source) == (policy, source)
    # Incidents record their route's key; it chooses the same.
    assert rules.policy_for(route.key, rules.categorise(labels)) == choice


def test_without_a_root_policy_the_catalogue_still_supplies_one(tmp_path: Path) -> None:
    rules = load_text(tmp_path, RULES.replace("  policy: fallback\n  routes:", "  routes:"))
    checkout = {"alertname": "CheckoutDown", "service": "checkout"}
    [route] = rules.route_for(checkout)
    assert rules.policy_for(route, rules.categorise(checkout)).policy == "payments"
    mystery = rules.policy_for(rules.route, rules.categorise({"alertname": "Mystery"}))
    assert (mystery.policy, mystery.source) == (None, PolicySource.NONE)


def test_a_team_policy_alone_is_enough_for_the_policies_to_be_used(tmp_path: Path) -> None:
    # No route section: the teams' policies are what sends incidents to them.
    without_route = RULES[: RULES.index("route:")]
    rules = load_text(tmp_path, without_route)
    labels = {"alertname": "CheckoutDown", "service": "checkout"}
    assert rules.policy_for(rules.route, rules.categorise(labels)).policy == "payments"


def test_an_unknown_team_policy_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    text = (
        "escalation_policies:\n  - {name: payments, levels: [{delay: 5m, targets: [{team: pay}]}]}\n"
        "teams:\n  - {name: pay, members: [ana], policy: paymnets}\n"
    )
    [problem] = [p for p in problems(tmp_path, text) if "policy" in p.key]
    assert problem.key == "teams[0].policy"
    assert "did you mean 'payments'?" in problem.message
