"""What an alert's labels lead to under the rules, remembered per fingerprint.

An alert's labels never change (they define its fingerprint), so for one version of the
rules its routes, group keys and the inhibit rules that may mute it never change either;
resends and resolves, most of the log, need not test matchers again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from rules.model import Rules
from rules.muting import InhibitRule
from rules.routing import Route

RoutedGroups = tuple[tuple[Route, str], ...]


class RouteCache:
    """Fingerprint -> (route, group key) pairs, for the rules it was filled under."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._rules: Rules | None = None
        self._groups: OrderedDict[str, RoutedGroups] = OrderedDict()
        self._targets: OrderedDict[str, tuple[InhibitRule, ...]] = OrderedDict()

    def groups(self, rules: Rules, fingerprint: str, labels: Mapping[str, str]) -> RoutedGroups:
        """Returns the routes the alert ends in, each with its group key, in tree order."""
        self._follow(rules)
        found = self._groups.get(fingerprint)
        if found is None:
            found = tuple((route, route.group_key(labels)) for route in rules.route_for(labels))
            self._groups[fingerprint] = found
            if len(self._groups) > self._capacity:
                self._groups.popitem(last=False)
        return found

    def inhibit_targets(
        self, rules: Rules, fingerprint: str, labels: Mapping[str, str]
    ) -> tuple[InhibitRule, ...]:
        """Returns the inhibit rules whose target matchers the alert matches."""
        self._follow(rules)
        found = self._targets.get(fingerprint)
        if found is None:
            found = tuple(rule for rule in rules.inhibit_rules if rule.is_target(labels))
            self._targets[fingerprint] = found
            if len(self._targets) > self._capacity:
                self._targets.popitem(last=False)
        return found

    def _follow(self, rules: Rules) -> None:
        if rules is not self._rules:
            # A reload: routes, keys and inhibit rules may have changed.
            self._rules = rules
            self._groups.clear()
            self._targets.clear()
