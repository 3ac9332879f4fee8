"""Correlation timings per route (inherited down the tree) and per category."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rules.correlation import Tuning
from tests.rules.helpers import assert_reported, load_text

RULES = """
correlation:
  resolve_delay: 2m
  hold: {alerts: 5, duration: 10m}
route:
  policy: web
  routes:
    - name: database
      matchers: ['service="db"']
      correlation:
        hold: {alerts: 0, duration: 0s}
      routes:
        - name: database-replicas
          matchers: ['role="replica"']
          correlation: {flap_detection: {changes: 8}}
    - name: web
      matchers: ['service="web"']
categories:
  - matchers: ['severity="critical"', 'service="db"']
    category: database-outage
    correlation: {resolve_delay: 0s}
  - matchers: ['service="db"']
    category: database-outage
    correlation: {flap_detection: {hold_down: 1m}}
escalation_policies:
  - name: web
    levels: [{delay: 5m, targets: [{channel: mail}]}]
channels:
  - name: mail
    email: {smtp_host: localhost, from: tocsin@example.com, security: none}
"""

GLOBAL = Tuning(
    resolve_delay=timedelta(minutes=2), hold_alerts=5, hold_duration=timedelta(minutes=10)
)


def test_a_route_overrides_the_section_and_its_subtree_inherits(tmp_path: Path) -> None:
    rules = load_text(tmp_path, RULES)
    assert rules.correlation == GLOBAL
    # The web route sets nothing: the section applies.
    assert rules.tuning_for("web", None) == GLOBAL
    # The database route holds nothing back; its replicas inherit that and add their own.
    database = rules.tuning_for("database", None)
    assert (database.hold_alerts, database.hold_duration) == (0, timedelta(0))
    assert database.resolve_delay == timedelta(minutes=2)
    replicas = rules.tuning_for("database-replicas", None)
    assert (replicas.hold_alerts, replicas.flap_changes) == (0, 8)


def test_a_category_overrides_its_route_with_its_rules_in_order(tmp_path: Path) -> None:
    rules = load_text(tmp_path, RULES)
    outage = rules.tuning_for("database", "database-outage")
    assert outage.resolve_delay == timedelta(0)
    assert outage.flap_hold_down == timedelta(minutes=1)
    assert outage.hold_alerts == 0  # from the route
    # Another category, or none, keeps the route's timings.
    assert rules.tuning_for("database", "other") == rules.tuning_for("database", None)


def test_an_unknown_route_key_falls_back_to_the_section(tmp_path: Path) -> None:
    # An incident opened under a route that a reload removed keeps the global timings.
    rules = load_text(tmp_path, RULES)
    assert rules.tuning_for("gone", None) == GLOBAL


def test_a_given_base_stands_in_for_the_section(tmp_path: Path) -> None:
    rules = load_text(tmp_path, RULES)
    base = Tuning(resolve_delay=timedelta(seconds=7))
    assert rules.tuning_for("database", None, base).resolve_delay == timedelta(seconds=7)
    assert rules.tuning_for("database", None, base).hold_alerts == 0


def test_a_category_timing_without_a_category_is_named(tmp_path: Path) -> None:
    assert_reported(
        tmp_path,
        """
categories:
  - matchers: ['service="db"']
    correlation: {resolve_delay: 0s} #<
""",
        "categories[0].correlation",
        "needs `category`",
    )


def test_a_mistyped_route_timing_is_named(tmp_path: Path) -> None:
    assert_reported(
        tmp_path,
        """
route:
  routes:
    - matchers: ['service="db"']
      correlation: {hold: {alerts: many}} #<
""",
        "route.routes[0].correlation.hold.alerts",
        "whole number",
    )
