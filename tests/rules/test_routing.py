"""The routing tree: first match wins, continue, nesting, inheritance, default, group keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.model import Rules
from rules.routing import trace_routes
from tests.rules.helpers import load_examples, load_text

TREE = """\
escalation_policies:
  - {name: default, levels: [{delay: 5m, targets: [{person: ana}]}]}
  - {name: db, levels: [{delay: 5m, targets: [{person: ana}]}]}
  - {name: audit, levels: [{delay: 5m, targets: [{person: ana}]}]}
people:
  - {name: ana, contacts: [{channel: hook}]}
channels:
  - {name: hook, webhook: {url: "https://example.com/hook"}}
route:
  policy: default
  group_by: [alertname]
  group_wait: 30s
  routes:
    - name: audit
      matchers: ['severity="critical"']
      policy: audit
      continue: true
    - name: database
      matchers: ['team="db"']
      policy: db
      group_by: [alertname, cluster]
      group_wait: 0s
      routes:
        - name: replication
          matchers: ['alertname=~"Replication.*"']
          group_by: ["..."]
    - name: database-again
      matchers: ['team="db"']
      policy: audit
    - matchers: ['team="web"']
"""


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return load_text(tmp_path, TREE)


CASES = [
    # Nothing below the root matches: the root (the default route) takes it.
    ({"alertname": "X"}, ["route"]),
    # The first matching child wins; its later siblings are not tried.
    ({"alertname": "X", "team": "db"}, ["route.routes[1]"]),
    # A match deep in the tree: the deepest matching route is the match.
    ({"alertname": "ReplicationLag", "team": "db"}, ["route.routes[1].routes[0]"]),
    # continue: the alert matches audit and goes on to the next siblings.
    (
        {"alertname": "X", "team": "db", "severity": "critical"},
        ["route.routes[0]", "route.routes[1]"],
    ),
    # continue with no later match: audit only (the root is not added).
    ({"alertname": "X", "severity": "critical"}, ["route.routes[0]"]),
    # A route without a name and policy inherits the root's policy.
    ({"alertname": "X", "team": "web"}, ["route.routes[3]"]),
]


@pytest.mark.parametrize(("labels", "paths"), CASES)
def test_route_for(rules: Rules, labels: dict[str, str], paths: list[str]) -> None:
    assert [r.path for r in rules.route_for(labels)] == paths


def test_children_inherit_what_they_do_not_set(rules: Rules) -> None:
    [replication] = rules.route_for({"alertname": "ReplicationLag", "team": "db"})
    [web] = rules.route_for({"alertname": "X", "team": "web"})
    assert (replication.policy, replication.group_wait, replication.group_by_all) == (
        "db",
        timedelta(0),
        True,
    )
    assert (web.policy, web.group_wait, web.group_by) == (
        "default",
        timedelta(seconds=30),
        ("alertname",),
    )


def test_group_keys_name_the_route_and_the_grouping_labels(rules: Rules) -> None:
    labels = {"alertname": "DiskFull", "team": "db", "cluster": "eu1", "instance": "a"}
    [database] = rules.route_for(labels)
    assert database.group_key(labels) == 'database:{alertname="DiskFull",cluster="eu1"}'
    [root] = rules.route_for({"alertname": "X", "instance": "a"})
    assert root.group_key({"alertname": "X", "instance": "a"}) == '{}:{alertname="X"}'
    # An unnamed route is keyed by its matchers, as Alertmanager does.
    [web] = rules.route_for({"alertname": "X", "team": "web"})
    assert web.key == '{}/{team="web"}'


def test_group_by_all_labels_makes_one_group_per_label_set(rules: Rules) -> None:
    labels = {"alertname": "ReplicationLag", "team": "db", "instance": "b"}
    [route] = rules.route_for(labels)
    assert route.group_key(labels) == (
        'replication:{alertname="ReplicationLag",instance="b",team="db"}'
    )


def test_trace_lists_every_route_tried_in_order(rules: Rules) -> None:
    _, visits = trace_routes(rules.route, {"alertname": "X", "team": "web"})
    assert [(v.path, v.matched) for v in visits] == [
        ("route", True),
        ("route.routes[0]", False),
        ("route.routes[1]", False),
        ("route.routes[2]", False),
        ("route.routes[3]", True),
    ]
    assert visits[1].mismatch == 'severity="critical"'


def test_rules_without_a_route_group_by_alertname_and_page_nobody(tmp_path: Path) -> None:
    rules = load_text(tmp_path, "sources: []\n")
    [route] = rules.route_for({"alertname": "X"})
    assert (route.policy, route.group_by) == (None, ("alertname",))


@pytest.mark.parametrize(
    "labels",
    [
        # Matches a continue route and the one after it.
        {"alertname": "CheckoutLatencyHigh", "team": "payments", "service": "checkout"},
        # A nested route.
        {"alertname": "PostgresDown", "team": "payments"},
        # Only the root.
        {"alertname": "Other"},
        # A sibling further down.
        {"alertname": "IndexLag", "service": "search"},
    ],
)
def test_fast_routing_agrees_with_the_traced_walk(labels: dict[str, str]) -> None:
    # route_for skips recording visits for speed; --explain's trace must say the same.
    rules = load_examples()
    assert rules.route_for(labels) == trace_routes(rules.route, labels)[0]
