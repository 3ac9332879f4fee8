"""Which routes and group keys an alert's labels lead to, remembered per fingerprint.

An alert's labels never change (they define its fingerprint), so for one version of the
rules its routes and group keys never change either; resends and resolves, most of the
log, need not walk the routing tree again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from rules.model import Rules
from rules.routing import Route

RoutedGroups = tuple[tuple[Route, str], ...]


class RouteCache:
    """Fingerprint -> (route, group key) pairs, for the rules it was filled under."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._rules: Rules | None = None
        self._groups: OrderedDict[str, RoutedGroups] = OrderedDict()

    def groups(self, rules: Rules, fingerprint: str, labels: Mapping[str, str]) -> RoutedGroups:
        """Returns the routes the alert ends in, each with its group key, in tree order."""
        if rules is not self._rules:
            # A reload: routes and keys may have changed.
            self._rules = rules
            self._groups.clear()
        found = self._groups.get(fingerprint)
        if found is None:
            found = tuple((route, route.group_key(labels)) for route in rules.route_for(labels))
            self._groups[fingerprint] = found
            if len(self._groups) > self._capacity:
                self._groups.popitem(last=False)
        return found
