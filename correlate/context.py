"""The typed context that flows through the correlation stages for one round of log entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.incident import Incident
from correlate.firing import FiringIndex
from correlate.mutes import MuteInForce
from correlate.routes import RouteCache, RoutedGroups
from correlate.working import WorkingSet
from rules.correlation import Tuning
from rules.model import Rules


@dataclass(frozen=True, slots=True)
class CorrelationContext:
    """What the stages know about the entries being correlated (one per alert: see rounds).

    ``positions`` maps each alert's fingerprint to the log position of its entry, and
    ``groups`` to the routes it ends in, each with its group key, in tree order.
    ``mutes`` maps a fingerprint to why its notifications are muted (silence, maintenance,
    inhibition); ``flaps`` maps a fingerprint to the recent times it changed state;
    ``expiries`` maps the fingerprint of a resolve that confirms an expiry to the end
    that passed (``correlate.stages.expiry``).
    ``routes`` remembers the group keys and inhibit targets of every alert seen;
    ``most_urgent`` is the most urgent level its category rules give any alert
    (``RouteCache.most_urgent``): an incident that urgent is never raised. Stages add
    to these with ``dataclasses.replace``.
    """

    now: datetime
    positions: Mapping[str, str]
    groups: Mapping[str, RoutedGroups]
    rules: Rules
    tuning: Tuning
    mutes_in_force: tuple[MuteInForce, ...]
    firing: FiringIndex
    working: WorkingSet
    routes: RouteCache
    most_urgent: int
    mutes: Mapping[str, str] = field(default_factory=dict)
    flaps: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)
    expiries: Mapping[str, datetime] = field(default_factory=dict)

    def tuning_of(self, incident: Incident) -> Tuning:
        """The timings of ``incident``: its route's and category's over ``tuning``."""
        return self.rules.tuning_for(incident.route, incident.category, self.tuning)

    def at(
        self, positions: Mapping[str, str], groups: Mapping[str, RoutedGroups]
    ) -> CorrelationContext:
        """The context for alerts at ``positions`` with ``groups``, nothing decided yet."""
        # A direct call: dataclasses.replace costs several times more, once per round.
        return CorrelationContext(
            self.now,
            positions,
            groups,
            self.rules,
            self.tuning,
            self.mutes_in_force,
            self.firing,
            self.working,
            self.routes,
            self.most_urgent,
        )
