"""The route cache answers as the rules do, also for alerts it knows only by the labels read."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.fingerprint import labels_fingerprint
from correlate.routes import RouteCache
from tests.correlate.harness import RULES, load_test_rules

# The root groups by every label: each alert its own incident.
GROUP_BY_ALL = RULES.replace("group_by: [alertname, service]", "group_by: ['...']")

CASES = [
    # Same labels read, another instance: answered from the labels read.
    {"alertname": "DiskFull", "service": "db", "instance": "db1"},
    {"alertname": "DiskFull", "service": "db", "instance": "db2"},
    # The db route's matcher decides the route and its grouping.
    {"alertname": "DiskFull", "service": "api", "instance": "db1"},
    # An empty label is an absent one to matchers and grouping.
    {"alertname": "DiskFull", "service": "", "instance": "a"},
    {"alertname": "DiskFull", "instance": "b"},
    # Inhibit targets: severity decides.
    {"alertname": "Load", "service": "api", "severity": "warning"},
    {"alertname": "Load", "service": "api", "severity": "critical"},
    {"alertname": "Load", "service": "api"},
]


@pytest.mark.parametrize("text", [RULES, GROUP_BY_ALL], ids=["rules", "group-by-all"])
def test_cached_answers_equal_the_rules_answers(tmp_path: Path, text: str) -> None:
    rules = load_test_rules(tmp_path, text)
    cache = RouteCache()
    for _ in range(2):  # first filled, then remembered
        for labels in CASES:
            fingerprint = labels_fingerprint(labels)
            expected = tuple((r, r.group_key(labels)) for r in rules.route_for(labels))
            assert cache.groups(rules, fingerprint, labels) == expected
            targets = tuple(r for r in rules.inhibit_rules if r.is_target(labels))
            assert cache.inhibit_targets(rules, fingerprint, labels) == targets


def test_a_reload_forgets_what_the_old_rules_said(tmp_path: Path) -> None:
    labels = {"alertname": "DiskFull", "service": "api", "instance": "api1"}
    fingerprint = labels_fingerprint(labels)
    cache = RouteCache()
    before = cache.groups(load_test_rules(tmp_path), fingerprint, labels)
    after = cache.groups(load_test_rules(tmp_path, GROUP_BY_ALL), fingerprint, labels)
    assert before[0][1] == '{}:{alertname="DiskFull",service="api"}'
    assert after[0][1] == '{}:{alertname="DiskFull",instance="api1",service="api"}'


def test_a_full_cache_forgets_its_answers_and_still_answers(tmp_path: Path) -> None:
    rules = load_test_rules(tmp_path)
    cache = RouteCache(capacity=2)
    for labels in CASES * 2:
        expected = tuple((r, r.group_key(labels)) for r in rules.route_for(labels))
        assert cache.groups(rules, labels_fingerprint(labels), labels) == expected
