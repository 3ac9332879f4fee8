"""The working set of one correlation step: incidents read, changed, and their new events.

A step reads each group's head incident at most once, changes it in memory as many
times as its entries require, and commits everything at the end with the versions it
read, so that a concurrent writer makes the whole step fail and retry instead of one
update silently overwriting another.

Incidents are immutable but for one thing: a step sets alerts in the very dict the
incident it read holds (the one the head cache keeps), since copying a storm incident's
thousands of alerts at every step cost more than the step's own work. It notes what
each alert was before, so that it knows what to write and, if the step fails, so that
:meth:`WorkingSet.abandon` puts every alert back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.direct_init import unchecked
from core.incident import Incident, IncidentAlert, IncidentEvent
from core.store import (
    CorrelationCommit,
    GroupHead,
    IncidentAlertWrite,
    IncidentStore,
    new_alert_write,
)
from correlate.heads import HeadCache

ACTOR = "tocsin"

# (incident as read or None if new, incident as changed, alerts changed) -> its next sweep.
SweepAt = Callable[[Incident | None, Incident, list[IncidentAlert]], datetime | None]


class Unread(enum.Enum):
    """What :meth:`WorkingSet.head_read` returns for a group whose head is not read yet."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


class WorkingSet:
    """Incidents touched by one step, keyed by id, with their group heads and events."""

    def __init__(self, store: IncidentStore, cache: HeadCache | None = None) -> None:
        self._store = store
        self._cache = cache if cache is not None else HeadCache(capacity=0)
        # Per incident, each alert with_alert() set, with what it was before the step
        # (None: new), in the order it was first set (writes stay in join order).
        self._before: dict[str, dict[str, IncidentAlert | None]] = {}
        # Per incident whose alerts are not a plain dict: the dict this step changes.
        self._own_alerts: dict[str, dict[str, IncidentAlert]] = {}
        self._opened_by: dict[str, list[str]] = {}
        self._read_versions: dict[str, int] = {}
        self._loaded: dict[str, Incident] = {}
        self._incidents: dict[str, Incident] = {}
        self._heads_read: dict[str, str | None] = {}
        self._heads: dict[str, str | None] = {}
        self._events: list[IncidentEvent] = []
        # Incidents with an event this step: written even if nothing else of theirs
        # changed, since each event goes to the stream with its incident's new version.
        self._evented: set[str] = set()
        # Per incident, the alert list of its "alerts_joined" event that is still last
        # among its events this step: further joins go in there.
        self._joining: dict[str, list[dict[str, Any]]] = {}

    async def head(self, group_key: str) -> Incident | None:
        """Returns the group's head incident as this step sees it."""
        if group_key not in self._heads:
            known, incident = self._cache.lookup(group_key)
            if not known:
                incident = await self._store.incident_for_group(group_key)
                self._cache.remember(group_key, incident)
            head_id = None if incident is None else incident.id
            self._heads_read[group_key] = head_id
            self._heads[group_key] = head_id
            if incident is not None and incident.id not in self._incidents:
                self._remember(incident)
        head_id = self._heads[group_key]
        return None if head_id is None else self._incidents[head_id]

    def head_read(self, group_key: str) -> Incident | Unread | None:
        """Returns the group's head if this step has read it already, else ``UNREAD``.

        No await: the stages look up each alert's heads several times per entry, and
        all but the first find them read (by the round, correlate.rounds). On
        ``UNREAD``, await :meth:`head`.
        """
        head_id = self._heads.get(group_key, UNREAD)
        if head_id is None or head_id is UNREAD:
            return head_id
        return self._incidents[head_id]

    def add_loaded(self, incident: Incident) -> None:
        """Adds an incident read outside :meth:`head` (e.g. by a sweep) to the step."""
        if incident.id not in self._incidents:
            self._remember(incident)

    def _remember(self, incident: Incident) -> None:
        self._incidents[incident.id] = incident
        self._loaded[incident.id] = incident
        self._read_versions[incident.id] = incident.version

    def put(self, incident: Incident) -> None:
        """Records the incident's new state; a new incident also becomes its group's head."""
        if incident.id not in self._read_versions:
            self._read_versions[incident.id] = 0
            if incident.group_key not in self._heads_read:
                # A group never looked up: the head is expected to be absent.
                self._heads_read[incident.group_key] = None
            self._heads[incident.group_key] = incident.id
        self._incidents[incident.id] = incident

    def opened(self, incident: Incident, fingerprint: str) -> None:
        """Records that the alert with ``fingerprint`` opened the incident in this step."""
        self._opened_by.setdefault(fingerprint, []).append(incident.id)

    @property
    def opening(self) -> bool:
        """Tells whether an alert opened an incident since :meth:`opened_by` last took it."""
        return bool(self._opened_by)

    def opened_by(self, fingerprint: str) -> list[Incident]:
        """Returns (and forgets) the incidents the alert opened since the last call."""
        return [self._incidents[i] for i in self._opened_by.pop(fingerprint, [])]

    def with_alert(self, incident: Incident, entry: IncidentAlert) -> Incident:
        """Returns the incident with ``entry`` set among its alerts, and records it."""
        alerts = self._alerts_to_change(incident)
        fingerprint = entry.fingerprint
        before = self._before.get(incident.id)
        if before is None:  # not setdefault: its new dict would be built on every call
            before = self._before[incident.id] = {}
        if fingerprint not in before:
            before[fingerprint] = alerts.get(fingerprint)
        alerts[fingerprint] = entry
        if incident.alerts is not alerts:
            incident = replace(incident, alerts=alerts)
        self.put(incident)
        return incident

    def _alerts_to_change(self, incident: Incident) -> dict[str, IncidentAlert]:
        """The incident's own alerts dict, set in place; a copy if they are not a dict."""
        alerts = incident.alerts
        if type(alerts) is dict:
            return alerts
        own = self._own_alerts.get(incident.id)
        if own is None:
            own = self._own_alerts[incident.id] = dict(alerts)
        return own

    def abandon(self) -> None:
        """Puts back every alert the step set in incidents it read; call it if the step fails."""
        for incident_id, before in self._before.items():
            loaded = self._loaded.get(incident_id)
            if loaded is None or type(loaded.alerts) is not dict:
                continue  # opened by the step, or changed in a copy: nothing shared
            alerts: dict[str, IncidentAlert] = loaded.alerts
            for fingerprint, was in before.items():
                if was is None:
                    alerts.pop(fingerprint, None)
                else:
                    alerts[fingerprint] = was
        self._before.clear()

    def committed(self, commit: CorrelationCommit) -> None:
        """Teaches the head cache what a successful commit wrote."""
        for incident in commit.incidents:
            if self._heads.get(incident.group_key) == incident.id:
                self._cache.remember(incident.group_key, incident)

    def event(self, incident: Incident, at: datetime, kind: str, **detail: Any) -> None:
        """Appends a timeline event for the incident."""
        self._joining.pop(incident.id, None)
        self._evented.add(incident.id)
        self._events.append(IncidentEvent(incident.id, at, ACTOR, kind, detail))

    def record(self, event: IncidentEvent) -> None:
        """Appends a timeline event made elsewhere, with its own actor (a lifecycle change)."""
        self._joining.pop(event.incident_id, None)
        self._evented.add(event.incident_id)
        self._events.append(event)

    def joined(self, incident: Incident, at: datetime, alert: IncidentAlert) -> None:
        """Records on the timeline that ``alert`` joined the incident.

        Consecutive joins, with no other event of the incident in between, make one
        ``alerts_joined`` event listing them in order: a storm adds a line per step to
        the timeline, not one per host, and the store writes one row instead of
        thousands. The list of that event grows until another event of the incident or
        the commit; nothing reads the events before then.
        """
        joining = self._joining.get(incident.id)
        if joining is None:
            joining = []
            self._joining[incident.id] = joining
            self._events.append(
                IncidentEvent(incident.id, at, ACTOR, "alerts_joined", {"alerts": joining})
            )
        # Not the labels: the incident keeps each alert's labels (they never change), and
        # the operator API shows them beside each join; a storm would store them twice.
        joined: dict[str, Any] = {"fingerprint": alert.fingerprint, "status": alert.status.value}
        if alert.muted_by is not None:
            # Why it joined muted: a storm under a maintenance window stays one entry.
            joined["muted_by"] = alert.muted_by
        joining.append(joined)

    @property
    def incidents(self) -> Mapping[str, Incident]:
        """The incidents of this step in their current state."""
        return self._incidents

    def commit(
        self,
        group: str,
        consumed: tuple[str, ...],
        sweep_at: SweepAt | None = None,
    ) -> CorrelationCommit:
        """Returns the commit for everything changed, each incident one version up.

        Only the alerts that joined or changed in this step are written with their
        incidents (all of them for a new incident), so a step costs what it changed.
        ``sweep_at``, if given, sets each changed incident's next sweep from the incident
        as read, as changed, and the alerts that changed.
        """
        changed: list[Incident] = []
        alerts: list[IncidentAlertWrite] = []
        for incident_id, incident in self._incidents.items():
            if not self._is_changed(incident_id, incident):
                continue
            writes = self._changed_alerts(incident)
            due = (
                incident.sweep_at
                if sweep_at is None
                else sweep_at(self._loaded.get(incident_id), incident, [w.alert for w in writes])
            )
            changed.append(
                replace(incident, version=self._read_versions[incident_id] + 1, sweep_at=due)
            )
            alerts.extend(writes)
        heads = tuple(
            GroupHead(group_key, self._heads_read.get(group_key), head_id)
            for group_key, head_id in self._heads.items()
            if head_id is not None and head_id != self._heads_read.get(group_key)
        )
        # Unchecked (core.direct_init): every event and alert write is of an incident in
        # ``changed``, and each write holds the alert its incident holds, by how they
        # were collected; checking a storm step's writes again cost 3% of the step.
        return unchecked(
            CorrelationCommit,
            group=group,
            incidents=tuple(changed),
            heads=heads,
            events=tuple(self._events),
            consumed=consumed,
            alerts=tuple(alerts),
        )

    def _changed_alerts(self, incident: Incident) -> list[IncidentAlertWrite]:
        loaded = self._loaded.get(incident.id)
        if loaded is None:
            return [IncidentAlertWrite(incident.id, a) for a in incident.alerts.values()]
        before = self._before.get(incident.id, {})
        alerts = incident.alerts
        if alerts is loaded.alerts or alerts is self._own_alerts.get(incident.id):
            # Only with_alert() changed them, and it noted which: a storm incident with
            # thousands of alerts need not be compared alert by alert every step.
            return [
                new_alert_write(incident.id, alerts[fingerprint])
                for fingerprint, was in before.items()
                if alerts[fingerprint] is not was
            ]
        # Replaced as a whole (the sweep's expiries): compared with the alerts as read.
        # Alerts are replaced to change, so identity tells which changed; nothing
        # removes an alert from an incident, so the new alerts hold every change.
        read = loaded.alerts
        return [
            IncidentAlertWrite(incident.id, alert)
            for fingerprint, alert in alerts.items()
            if (before[fingerprint] if fingerprint in before else read.get(fingerprint))
            is not alert
        ]

    def _is_changed(self, incident_id: str, incident: Incident) -> bool:
        # Incidents are only replaced by put(), and their alerts only set by with_alert().
        return (
            incident is not self._loaded.get(incident_id)
            or incident_id in self._before
            or incident_id in self._evented
        )
