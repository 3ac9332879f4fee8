"""What an alert's labels lead to under the rules, remembered per fingerprint and per labels read.

An alert's labels never change (they define its fingerprint), so for one version of the
rules its routes, group keys, the inhibit rules that may mute it and the urgency the
category rules give it never change either; resends and resolves, most of the log, need
not test matchers again.

A storm brings new fingerprints, though, each with a label (``instance``) that no route
and no grouping reads. The answers depend only on the labels the rules do read, so they
are also remembered by the values of those labels: thousands of new alerts that differ
only in ``instance`` are routed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from rules.categorise import urgency_of
from rules.matchers import Matcher
from rules.model import Rules
from rules.muting import InhibitRule
from rules.routing import Route, identity_group_key, walk

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
        own: Callable[[_Answer, str], _Answer] | None = None,
    ) -> None:
        self._capacity = capacity
        self._reads = reads
        self._work_out = work_out
        # Makes an answer shared by the labels read the fingerprint's own (see _own_groups).
        self._own = own
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
        if self._own is not None:
            found = self._own(found, fingerprint)
        self._keep(fingerprint, found)
        return found

    @property
    def answers(self) -> Mapping[str | tuple[str, ...], _Answer]:
        """Every answer remembered, by fingerprint and by the values of the labels read."""
        return self._answers

    def _keep(self, key: str | tuple[str, ...], answer: _Answer) -> None:
        if len(self._answers) >= self._capacity:
            self._answers.clear()
        self._answers[key] = answer


class RouteCache:
    """Remembers each alert's routes with group keys, inhibit targets and urgency, per rules."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._rules: Rules | None = None
        self._groups: _Memo[RoutedGroups] = _Memo(0, None, _routed_groups, _own_groups)
        self._targets: _Memo[tuple[InhibitRule, ...]] = _Memo(0, None, _targets_of)
        self._category_reads: tuple[str, ...] = ()
        self._most_urgent = 1
        self._urgencies: dict[tuple[str, ...], tuple[int, str]] = {}

    def groups(self, rules: Rules, fingerprint: str, labels: Mapping[str, str]) -> RoutedGroups:
        """Returns the routes the alert ends in, each with its group key, in tree order."""
        if rules is not self._rules:
            self._follow(rules)
        return self._groups.get(rules, fingerprint, labels)

    def known_groups(self, rules: Rules) -> Mapping[str | tuple[str, ...], RoutedGroups]:
        """The answers of :meth:`groups` remembered so far, by fingerprint (and other keys).

        For a caller asking for thousands of alerts at once: a hit is one look-up here
        instead of two calls; on a miss, ask :meth:`groups`.
        """
        if rules is not self._rules:
            self._follow(rules)
        return self._groups.answers

    def inhibit_targets(
        self, rules: Rules, fingerprint: str, labels: Mapping[str, str]
    ) -> tuple[InhibitRule, ...]:
        """Returns the inhibit rules whose target matchers the alert matches."""
        if rules is not self._rules:
            self._follow(rules)
        return self._targets.get(rules, fingerprint, labels)

    def most_urgent(self, rules: Rules) -> int:
        """Returns the most urgent level the category rules give any alert.

        An incident already that urgent cannot be raised: no alert needs looking up.
        """
        if rules is not self._rules:
            self._follow(rules)
        return self._most_urgent

    def urgency(self, rules: Rules, labels: Mapping[str, str]) -> tuple[int, str]:
        """Returns the urgency level the category rules give the alert, and what decided it.

        Asked once per alert joining an incident, rarely again for the same alert: kept
        by the values of the labels the categories read only, not per fingerprint.
        """
        if rules is not self._rules:
            self._follow(rules)
        values = tuple([labels.get(name, "") for name in self._category_reads])
        found = self._urgencies.get(values)
        if found is None:
            found = urgency_of(rules.categories, labels, rules.priority.matrix)
            if len(self._urgencies) >= self._capacity:
                self._urgencies.clear()
            self._urgencies[values] = found
        return found

    def _follow(self, rules: Rules) -> None:
        # A reload: routes, keys and inhibit rules may have changed.
        self._rules = rules
        routes = walk(rules.route)
        route_reads = None
        if not any(route.group_by_all for route in routes):
            route_reads = _names(
                (m for route in routes for m in route.matchers),
                # alertname too: whether an alert groups by its identity depends on it.
                ("alertname", *(name for route in routes for name in route.group_by)),
            )
        target_reads = _names((m for rule in rules.inhibit_rules for m in rule.target_matchers), ())
        self._groups = _Memo(self._capacity, route_reads, _routed_groups, _own_groups)
        self._targets = _Memo(self._capacity, target_reads, _targets_of)
        self._category_reads = _names((m for rule in rules.categories for m in rule.matchers), ())
        self._urgencies = {}
        matrix = rules.priority.matrix
        # The default counts too: an alert no urgency rule matches gets it.
        levels = [matrix.urgency_level(r.urgency) for r in rules.categories if r.urgency]
        self._most_urgent = min([level for level in levels if level] + [matrix.default_urgency])


# In an answer shared by the labels read: "this alert is an incident of its own here".
_BY_IDENTITY = ""


class _KeysToFill(tuple[tuple[Route, str], ...]):
    """Routes of an alert some of which group it by its identity (keys ``_BY_IDENTITY``)."""

    __slots__ = ()


def _routed_groups(rules: Rules, labels: Mapping[str, str]) -> RoutedGroups:
    routed = tuple(
        (route, _BY_IDENTITY if route.groups_by_identity(labels) else route.group_key(labels))
        for route in rules.route_for(labels)
    )
    return _KeysToFill(routed) if any(not key for _route, key in routed) else routed


def _own_groups(routed: RoutedGroups, fingerprint: str) -> RoutedGroups:
    """Fills in the group keys that are the alert's own (``Route.groups_by_identity``).

    Alerts that differ only in labels no route reads share one answer; those keys
    depend on the fingerprint as well, so they are written per alert here.
    """
    if type(routed) is not _KeysToFill:
        return routed  # the usual case, once per storm alert: grouped by labels only
    return tuple(
        (route, key or identity_group_key(route.key, fingerprint)) for route, key in routed
    )


def _targets_of(rules: Rules, labels: Mapping[str, str]) -> tuple[InhibitRule, ...]:
    return tuple(rule for rule in rules.inhibit_rules if rule.is_target(labels))


def _names(matchers: Iterable[Matcher], names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({m.name for m in matchers} | set(names)))
