"""What an alert's labels lead to under the rules, remembered per fingerprint and per labels read.

An alert's labels never change (they define its fingerprint), so for one version of the
rules its routes, group keys and the inhibit rules that may mute it never change either;
resends and resolves, most of the log, need not test matchers again.

A storm brings new fingerprints, though, each with a label (``instance``) that no route
and no grouping reads. The answers depend only on the labels the rules do read, so they
are also remembered by the values of those labels: thousands of new alerts that differ
only in ``instance`` are routed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from rules.matchers import Matcher
from rules.model import Rules
from rules.muting import InhibitRule
from rules.routing import Route, walk

RoutedGroups = tuple[tuple[Route, str], ...]

_Answer = TypeVar("_Answer")


class _Memo(Generic[_Answer]):
    """Answers by fingerprint and by the values of the labels they depend on.

    ``reads`` names those labels, or is None when an answer may depend on every label
    (``group_by: ['...']``); then only the fingerprint is a key. When full, it forgets
    everything at once: cheaper per entry than keeping an order to evict by, and a
    storm of new fingerprints fills it only every ``capacity`` alerts.
    """

    def __init__(
        self,
        capacity: int,
        reads: tuple[str, ...] | None,
        work_out: Callable[[Rules, Mapping[str, str]], _Answer],
    ) -> None:
        self._capacity = capacity
        self._reads = reads
        self._work_out = work_out
        self._answers: dict[str | tuple[str, ...], _Answer] = {}

    def get(self, rules: Rules, fingerprint: str, labels: Mapping[str, str]) -> _Answer:
        """Returns the remembered answer for the alert, working it out on a miss."""
        found = self._answers.get(fingerprint)
        if found is not None:
            return found
        if self._reads is None:
            found = self._work_out(rules, labels)
        else:
            # Absent and empty labels are alike to matchers and grouping, as in Alertmanager.
            values = tuple([labels.get(name, "") for name in self._reads])
            found = self._answers.get(values)
            if found is None:
                found = self._work_out(rules, labels)
                self._keep(values, found)
        self._keep(fingerprint, found)
        return found

    def _keep(self, key: str | tuple[str, ...], answer: _Answer) -> None:
        if len(self._answers) >= self._capacity:
            self._answers.clear()
        self._answers[key] = answer


class RouteCache:
    """Fingerprint -> (route, group key) pairs and inhibit targets, for the rules filled under."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._rules: Rules | None = None
        self._groups: _Memo[RoutedGroups] = _Memo(0, None, _routed_groups)
        self._targets: _Memo[tuple[InhibitRule, ...]] = _Memo(0, None, _targets_of)

    def groups(self, rules: Rules, fingerprint: str, labels: Mapping[str, str]) -> RoutedGroups:
        """Returns the routes the alert ends in, each with its group key, in tree order."""
        if rules is not self._rules:
            self._follow(rules)
        return self._groups.get(rules, fingerprint, labels)

    def inhibit_targets(
        self, rules: Rules, fingerprint: str, labels: Mapping[str, str]
    ) -> tuple[InhibitRule, ...]:
        """Returns the inhibit rules whose target matchers the alert matches."""
        if rules is not self._rules:
            self._follow(rules)
        return self._targets.get(rules, fingerprint, labels)

    def _follow(self, rules: Rules) -> None:
        # A reload: routes, keys and inhibit rules may have changed.
        self._rules = rules
        routes = walk(rules.route)
        route_reads = None
        if not any(route.group_by_all for route in routes):
            route_reads = _names(
                (m for route in routes for m in route.matchers),
                (name for route in routes for name in route.group_by),
            )
        target_reads = _names((m for rule in rules.inhibit_rules for m in rule.target_matchers), ())
        self._groups = _Memo(self._capacity, route_reads, _routed_groups)
        self._targets = _Memo(self._capacity, target_reads, _targets_of)


def _routed_groups(rules: Rules, labels: Mapping[str, str]) -> RoutedGroups:
    return tuple((route, route.group_key(labels)) for route in rules.route_for(labels))


def _targets_of(rules: Rules, labels: Mapping[str, str]) -> tuple[InhibitRule, ...]:
    return tuple(rule for rule in rules.inhibit_rules if rule.is_target(labels))


def _names(matchers: Iterable[Matcher], names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({m.name for m in matchers} | set(names)))
