"""The inhibit index answers exactly as Alertmanager's rule does, by lookup (issue 9, item 10).

Inhibition used to scan every firing alert for each target; the index finds the sources
by the values of the rule's ``equal`` labels. These cases pin its semantics: equal
labels, an absent label equal to an empty one, a two-sided rule, sources that stop
firing; and a seeded comparison with :meth:`InhibitRule.inhibits` over every pair.
"""

from __future__ import annotations

import random

import pytest

from core.fingerprint import labels_fingerprint
from correlate.inhibit_index import InhibitIndex
from rules.matchers import parse_matcher
from rules.muting import InhibitRule


def _rule(source: str, target: str, *equal: str) -> InhibitRule:
    return InhibitRule((parse_matcher(source),), (parse_matcher(target),), tuple(equal), name="r")


CRITICAL_MUTES_WARNING = _rule('severity="critical"', 'severity="warning"', "alertname")


def _source(index: InhibitIndex, rule: InhibitRule, target: dict[str, str]) -> str | None:
    return index.source_for(rule, labels_fingerprint(target), target)


@pytest.mark.parametrize(
    ("source", "target", "mutes"),
    [
        # Same alertname: muted.
        (
            {"alertname": "A", "severity": "critical"},
            {"alertname": "A", "severity": "warning"},
            True,
        ),
        # Another alertname: not muted.
        (
            {"alertname": "A", "severity": "critical"},
            {"alertname": "B", "severity": "warning"},
            False,
        ),
        # Both lack the equal label: absent equals absent (both are ""), as in Alertmanager.
        ({"severity": "critical"}, {"severity": "warning"}, True),
        # An empty value equals an absent one.
        ({"alertname": "", "severity": "critical"}, {"severity": "warning"}, True),
        # One has it, the other not: not equal.
        ({"alertname": "A", "severity": "critical"}, {"severity": "warning"}, False),
        # The target side does not match: nothing to mute.
        ({"alertname": "A", "severity": "critical"}, {"alertname": "A", "severity": "info"}, False),
    ],
)
def test_equal_labels_decide_as_alertmanager_does(
    source: dict[str, str], target: dict[str, str], mutes: bool
) -> None:
    index = InhibitIndex((CRITICAL_MUTES_WARNING,))
    index.add(labels_fingerprint(source), source)
    found = _source(index, CRITICAL_MUTES_WARNING, target)
    if not CRITICAL_MUTES_WARNING.is_target(target):
        found = None  # the stage asks only about targets
    assert (found == labels_fingerprint(source)) is mutes
    assert CRITICAL_MUTES_WARNING.inhibits(source, target) is mutes


def test_a_source_that_stops_firing_mutes_no_more_and_the_oldest_is_named() -> None:
    index = InhibitIndex((CRITICAL_MUTES_WARNING,))
    first = {"alertname": "A", "severity": "critical", "instance": "1"}
    second = {"alertname": "A", "severity": "critical", "instance": "2"}
    target = {"alertname": "A", "severity": "warning"}
    index.add(labels_fingerprint(first), first)
    index.add(labels_fingerprint(second), second)
    assert _source(index, CRITICAL_MUTES_WARNING, target) == labels_fingerprint(first)
    # A mute keeps naming the source it named while that one fires.
    assert index.source_for(
        CRITICAL_MUTES_WARNING, "t", target, prefer=labels_fingerprint(second)
    ) == labels_fingerprint(second)
    index.remove(labels_fingerprint(first), first)
    assert _source(index, CRITICAL_MUTES_WARNING, target) == labels_fingerprint(second)
    index.remove(labels_fingerprint(second), second)
    assert _source(index, CRITICAL_MUTES_WARNING, target) is None
    assert index.sources() == {}


def test_alerts_matching_both_sides_never_mute_each_other() -> None:
    # Every alert of the team matches both sides: none mutes another, nor itself.
    rule = _rule('team="db"', 'team="db"', "cluster")
    index = InhibitIndex((rule,))
    both = [{"team": "db", "cluster": "c", "alertname": n} for n in ("A", "B")]
    for labels in both:
        index.add(labels_fingerprint(labels), labels)
    for labels in both:
        assert _source(index, rule, labels) is None


def test_firing_targets_are_found_by_key() -> None:
    index = InhibitIndex((CRITICAL_MUTES_WARNING,))
    warnings = [{"alertname": f"A{i % 3}", "severity": "warning", "i": str(i)} for i in range(9)]
    for labels in warnings:
        index.add(labels_fingerprint(labels), labels)
    found = set(index.targets(0, ("A1",)))
    assert found == {labels_fingerprint(w) for w in warnings if w["alertname"] == "A1"}


@pytest.mark.parametrize("seed", range(5))
def test_the_index_agrees_with_the_rule_over_random_alerts(seed: int) -> None:
    rng = random.Random(seed)
    rules = (
        CRITICAL_MUTES_WARNING,
        _rule('alertname="ClusterDown"', 'severity=~"warning|info"', "cluster", "zone"),
        _rule('severity=~"critical|warning"', 'severity=~"warning|info"', "cluster"),
    )
    index = InhibitIndex(rules)
    alerts: list[dict[str, str]] = []
    for _ in range(60):
        labels = {
            k: rng.choice(values)
            for k, values in {
                "alertname": ["A", "B", "ClusterDown"],
                "severity": ["critical", "warning", "info"],
                "cluster": ["c1", "c2", ""],
                "zone": ["z1", "z2"],
            }.items()
            if rng.random() < 0.8  # some labels absent
        }
        labels["i"] = str(len(alerts))
        alerts.append(labels)
    firing = [a for a in alerts if rng.random() < 0.5]
    for labels in firing:
        index.add(labels_fingerprint(labels), labels)
    for target in alerts:
        fingerprint = labels_fingerprint(target)
        for rule in rules:
            if not rule.is_target(target):
                continue
            expected = any(
                labels_fingerprint(s) != fingerprint and rule.inhibits(s, target) for s in firing
            )
            found = index.source_for(rule, fingerprint, target)
            assert (found is not None) is expected, (rule, target)
