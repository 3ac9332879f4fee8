"""Rounds: runs of a step's log entries that the stages can take in one call.

Correlating entry by entry calls every stage once per entry. The stages take lists of
alerts, so a run of entries can go through them together, provided the outcome is
exactly that of one entry after the other. Taken together, every entry passes the
silence, inhibit, dedup and flap stages before any of them is grouped, so those stages
must not depend on what grouping an earlier entry of the run does. They depend on
three things it may change:

- the alert's own incident entry: so a round holds at most one entry per fingerprint;
- the firing alerts inhibition tests against: so an alert that an inhibit rule may
  target starts a round, when every earlier entry has been grouped;
- which incident heads its group and whether that incident is open (dedup and flap read
  the alert's history there): grouping changes these only for an alert whose status
  disagrees with its group's incident (a firing alert with no open incident opens or
  reopens one; a resolve may resolve an open one), so such an alert ends its round.

In a storm or a run of resends, a round is a whole step; while groups open and resolve,
rounds shrink towards single entries, which is what entry-by-entry correlation costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.model import Alert, AlertStatus, LogEntry
from correlate.context import CorrelationContext
from correlate.routes import RoutedGroups
from correlate.working import UNREAD


@dataclass(frozen=True, slots=True)
class Round:
    """A run of entries to correlate together, with what each stage looks up per alert.

    ``positions`` and ``groups`` map each alert's fingerprint to its log position and to
    its routes with their group keys: worked out once here, not once per stage.
    """

    alerts: list[Alert]
    positions: dict[str, str]
    groups: dict[str, RoutedGroups]
    end: int  # the index after the round's last entry


async def next_round(ctx: CorrelationContext, entries: Sequence[LogEntry], start: int) -> Round:
    """Returns the round of ``entries`` that begins at ``start``.

    The heads it looks at are those the stages will find: no entry it lets into the
    round before the last one changes them.
    """
    rules = ctx.rules
    routes = ctx.routes
    working = ctx.working
    inhibiting = bool(rules.inhibit_rules)
    # Most entries are of alerts routed before: found here without a call.
    known_groups = routes.known_groups(rules)
    alerts: list[Alert] = []
    positions: dict[str, str] = {}
    groups: dict[str, RoutedGroups] = {}
    for index in range(start, len(entries)):
        entry = entries[index]
        alert = entry.alert
        fingerprint = alert.fingerprint
        if fingerprint in positions:
            return Round(alerts, positions, groups, index)
        if (
            inhibiting
            and index > start
            and routes.inhibit_targets(rules, fingerprint, alert.labels)
        ):
            return Round(alerts, positions, groups, index)
        routed = known_groups.get(fingerprint)
        if routed is None:
            routed = routes.groups(rules, fingerprint, alert.labels)
        alerts.append(alert)
        positions[fingerprint] = entry.cursor
        groups[fingerprint] = routed
        firing = alert.status is AlertStatus.FIRING
        for _route, group_key in routed:
            head = working.head_read(group_key)
            if head is UNREAD:
                head = await working.head(group_key)
            if firing is not (head is not None and head.is_open):
                return Round(alerts, positions, groups, index + 1)
    return Round(alerts, positions, groups, len(entries))
