"""Mute state that follows its cause: alerts already firing are muted and unmuted as it changes.

A step mutes each alert it correlates by the silences, maintenance windows and inhibiting
alerts in force. An alert that is not sent again (Alertmanager repeats an unchanged
group only every ``repeat_interval``) would keep the mute it had until then, so the
sweep re-evaluates the firing alerts of open incidents when what mutes changes, as
Alertmanager re-evaluates every alert against the silences and inhibitions in force:

- the mutes in force (a silence created, expired, deleted, starting or ending; a
  maintenance window opening or closing; a reload): every firing alert of every open
  incident, read in one pass;
- the inhibiting alerts (a source fired or stopped firing): only the firing targets with
  the equal-label values of the sources that changed, found through the inhibit index.

Each change goes on the incident's timeline, one ``muted`` or ``unmuted`` event per
incident and reason, listing the alerts and counting them (``group.mute_event``: the
same shape as a step's own ``muted`` and ``unmuted`` events).
The cost per sweep with nothing changed is one comparison of the mutes' keys and of the
inhibiting alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from core.incident import Incident, IncidentAlert
from core.model import AlertStatus
from correlate.context import CorrelationContext
from correlate.inhibit_index import InhibitIndex, Key
from correlate.stages.group import mute_event
from correlate.stages.inhibit import inhibited_by
from correlate.stages.mute import silenced_by
from rules.model import Rules

# The inhibiting alerts per (rule position, equal-label values).
Sources = dict[tuple[int, Key], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Applied:
    """What mutes were in force when the open incidents were last brought in line."""

    rules: Rules
    mutes: tuple[str, ...]
    sources: Sources
    index: InhibitIndex
    changes: int  # the index's count of source changes then


class MuteFollower:
    """Remembers what the mutes of open incidents were last brought in line with."""

    def __init__(self) -> None:
        self._applied: Applied | None = None

    def needs_all(self, ctx: CorrelationContext) -> bool:
        """Tells whether every open incident must be re-evaluated (the mutes in force changed)."""
        applied = self._applied
        return applied is None or applied.rules is not ctx.rules or applied.mutes != _keys(ctx)

    def changed_targets(self, ctx: CorrelationContext) -> dict[str, Mapping[str, str]]:
        """The firing alerts whose inhibition may have changed: fingerprint -> labels."""
        if self._applied is None or not ctx.rules.inhibit_rules:
            return {}
        now = ctx.firing.inhibition.sources()
        was = self._applied.sources
        if now == was:
            return {}
        targets: dict[str, Mapping[str, str]] = {}
        for position, key in now.keys() | was.keys():
            if now.get((position, key)) == was.get((position, key)):
                continue
            for fingerprint in ctx.firing.inhibition.targets(position, key):
                labels = ctx.firing.labels(fingerprint)
                if labels is not None:
                    targets[fingerprint] = labels
        return targets

    def applied(self, ctx: CorrelationContext) -> None:
        """Records that the open incidents are in line with ``ctx``'s mutes."""
        index = ctx.firing.inhibition
        sources = index.sources() if ctx.rules.inhibit_rules else {}
        self._applied = Applied(ctx.rules, _keys(ctx), sources, index, index.changes)

    def pending(self, ctx: CorrelationContext) -> bool:
        """Tells whether a sweep may have mutes to bring in line (cheap: for every step)."""
        applied = self._applied
        if applied is None or self.needs_all(ctx):
            return True
        index = ctx.firing.inhibition
        return bool(ctx.rules.inhibit_rules) and (
            index is not applied.index or index.changes != applied.changes
        )


def _keys(ctx: CorrelationContext) -> tuple[str, ...]:
    return tuple(m.key for m in ctx.mutes_in_force)


def mute_of(ctx: CorrelationContext, alert: IncidentAlert, prefer: str | None = None) -> str | None:
    """Why the alert is muted now (silence, maintenance window, inhibition), or None.

    The same order as the step's stages: silences and windows, then inhibition.
    """
    silenced = silenced_by(ctx.mutes_in_force, alert.labels)
    if silenced is not None:
        return silenced
    if not ctx.rules.inhibit_rules:
        return None
    return inhibited_by(ctx.rules, ctx.routes, ctx.firing, alert.fingerprint, alert.labels, prefer)


def remute(
    ctx: CorrelationContext, incident: Incident, fingerprints: Iterable[str] | None
) -> Incident:
    """Returns the incident with the mutes of its firing alerts as they are now.

    Only the alerts named by ``fingerprints`` are looked at (None: all of them). The
    incident comes back as the same object if no mute changed; otherwise the changes are
    on its timeline and its ``muted`` flag says whether every firing alert is muted.
    """
    if not incident.is_open:
        return incident
    alerts = incident.alerts
    changed: dict[str, IncidentAlert] = {}
    events: dict[tuple[str, str], list[str]] = {}
    for fingerprint in alerts if fingerprints is None else fingerprints:
        alert = alerts.get(fingerprint)
        if alert is None or alert.status is not AlertStatus.FIRING:
            continue
        reason = mute_of(ctx, alert, alert.muted_by)
        if reason == alert.muted_by:
            continue
        changed[fingerprint] = replace(alert, muted_by=reason)
        if reason is None:
            event = ("unmuted", f"no longer in force: {alert.muted_by}")
        else:
            event = ("muted", reason)
        events.setdefault(event, []).append(fingerprint)
    if not changed:
        return incident
    # A new dict: the incident as read stays as it was (WorkingSet compares the two).
    updated = replace(incident, alerts={**alerts, **changed})
    firing = [a for a in updated.alerts.values() if a.status is AlertStatus.FIRING]
    muted = all(a.muted_by is not None for a in firing) if firing else incident.muted
    if muted != updated.muted:
        updated = replace(updated, muted=muted)
    for (kind, reason), muted_alerts in events.items():
        mute_event(ctx, updated, kind, reason, muted_alerts)
    return updated


async def follow_mutes(
    ctx: CorrelationContext,
    follower: MuteFollower,
    swept: dict[str, Incident],
    everything: bool,
) -> set[str]:
    """Brings the mutes of the sweep's incidents in line; returns the ids it changed.

    ``swept`` holds the incidents the sweep read, as it left them; the open incidents of
    firing targets whose inhibiting alerts changed are added to it (read through their
    group heads). ``everything``: the mutes in force changed, and ``swept`` holds every
    open incident, each of whose firing alerts is re-evaluated.
    """
    targeted: dict[str, list[str]] | None = None
    if not everything:
        targeted = {}
        for fingerprint, labels in follower.changed_targets(ctx).items():
            for _route, group_key in ctx.routes.groups(ctx.rules, fingerprint, labels):
                head = await ctx.working.head(group_key)
                if head is None or not head.is_open or fingerprint not in head.alerts:
                    continue
                swept.setdefault(head.id, head)
                targeted.setdefault(head.id, []).append(fingerprint)
    changed: set[str] = set()
    for incident_id, incident in list(swept.items()):
        if targeted is not None and incident_id not in targeted:
            continue
        remuted = remute(ctx, incident, None if targeted is None else targeted[incident_id])
        if remuted is not incident:
            swept[incident_id] = remuted
            changed.add(incident_id)
    return changed
