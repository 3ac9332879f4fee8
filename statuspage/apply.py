"""What one batch does to the status page: the effects of incident events and commands.

:class:`PageWork` holds what the writer read for a batch (the page state, the public
incidents and links concerned) and changes it in memory, in order; the writer then
writes everything it changed with the group's cursor, in one atomic write.

A component's status changes only here (:meth:`PageWork.settle`): it is recomputed from
the open public incidents and the maintenances (``statuspage.mapping``) at the instant
of the change, and each stretch it leaves that was not operational is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from core.timestamps import from_micros
from rules.model import Rules
from rules.status import StatusPage
from statuspage.commands import capped
from statuspage.maintenance import ACTIVE, effective, under_maintenance
from statuspage.mapping import IMPACT_OF_STATUS, worst
from statuspage.model import (
    AffectedComponent,
    ComponentStatus,
    Impact,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicUpdate,
)
from statuspage.records import IncidentRecord, PageState, Stretch, cut_at_midnight


class PageWork:
    """The page's state for one batch, changed in memory (see the module docstring)."""

    def __init__(
        self,
        rules: Rules,
        now: datetime,
        state: PageState,
        records: dict[str, IncidentRecord],
        maintenances: dict[str, PublicMaintenance],
        first: datetime | None = None,
    ) -> None:
        """``first`` is the earliest instant the batch speaks of: new components start then."""
        self.rules = rules
        self.page: StatusPage = rules.status_page
        self.now = now
        self.state = state
        self.records = records
        # The API's maintenances that are not completed (and any this batch touched).
        self.maintenances = maintenances
        self.changed_incidents: set[str] = set()
        # Deleted by an operator: removed from the store (and listed as changed).
        self.deleted_incidents: set[str] = set()
        self.changed_maintenances: set[str] = set()
        # Deleted by an operator: removed from the store (and listed as changed).
        self.deleted_maintenances: set[str] = set()
        self.changed_components: set[str] = set()
        self.stretches: list[Stretch] = []
        self.stretch_components: list[str] = []
        for component in self.page.components:
            if component.name not in state.components:
                start = min(now, first or now)
                state.components[component.name] = (ComponentStatus.OPERATIONAL, start, start)
                self.changed_components.add(component.name)

    # Component statuses.

    def settle(
        self, at: datetime, components: Iterable[str] | None = None
    ) -> list[AffectedComponent]:
        """Recomputes the components' statuses at ``at`` (all when None); returns changes."""
        names = [c.name for c in self.page.components] if components is None else list(components)
        maintained = under_maintenance(
            self.rules.maintenance_windows, self.maintenances.values(), self.page, at
        )
        changed: list[AffectedComponent] = []
        for name in dict.fromkeys(names):
            held = self.state.components.get(name)
            if held is None:
                continue
            old, since, seen = held
            wanted = [s.get(name) for s in self.state.open.values()]
            statuses = [s for s in wanted if s is not None]
            if name in maintained:
                statuses.append(ComponentStatus.UNDER_MAINTENANCE)
            new = worst(statuses)
            if new is old:
                continue
            when = max(at, since)  # a late event never rewrites what was recorded
            if old is not ComponentStatus.OPERATIONAL:
                for piece in cut_at_midnight(since, when, old):
                    self.stretches.append(piece)
                    self.stretch_components.append(name)
            self.state.components[name] = (new, when, seen)
            self.changed_components.add(name)
            changed.append(AffectedComponent(name, old, new))
        return changed

    # Public incidents.

    def render(self, which: str, components: Iterable[str], status: str, impact: Impact) -> str:
        """Renders a public template with public variables only (never alert data)."""
        template = getattr(self.page.templates, which)
        names = [c.display_name for n in components if (c := self.page.component(n)) is not None]
        context = {
            "components": names,
            "status": status,
            "page": self.page.name,
            "impact": impact.value,
        }
        return str(template.render(context, fallback="")).strip()

    def open_incident(
        self,
        public_id: str,
        update_id: str,
        at: datetime,
        name: str,
        status: PublicIncidentStatus,
        impact: Impact,
        statuses: Mapping[str, ComponentStatus],
        body: str,
        internal: str | None = None,
    ) -> IncidentRecord:
        """Creates a public incident with its first update; its components change at ``at``."""
        resolved = status in (PublicIncidentStatus.RESOLVED, PublicIncidentStatus.POSTMORTEM)
        if not resolved:
            self.state.open[public_id] = dict(statuses)
        affected = self.settle(at, statuses)
        incident = PublicIncident(
            id=public_id,
            name=name,
            status=status,
            impact=impact,
            created_at=at,
            updated_at=at,
            started_at=at,
            monitoring_at=at if status is PublicIncidentStatus.MONITORING else None,
            resolved_at=at if resolved else None,
            component_ids=tuple(statuses),
            updates=(PublicUpdate(update_id, status, body, at, at, tuple(affected)),),
        )
        record = IncidentRecord(incident, dict(statuses), internal)
        self.records[public_id] = record
        self.changed_incidents.add(public_id)
        return record

    def add_update(
        self,
        public_id: str,
        update_id: str,
        at: datetime,
        status: PublicIncidentStatus,
        body: str,
        statuses: Mapping[str, ComponentStatus] | None = None,
    ) -> IncidentRecord | None:
        """Adds an update to a public incident; its status and components follow it."""
        record = self.records.get(public_id)
        if record is None:
            return None
        incident = record.incident
        merged = dict(record.statuses)
        merged.update(statuses or {})
        resolved = status in (PublicIncidentStatus.RESOLVED, PublicIncidentStatus.POSTMORTEM)
        if resolved:
            self.state.open.pop(public_id, None)
        else:
            self.state.open[public_id] = dict(merged)
        affected = self.settle(at, merged)
        # Never dated before the newest update (an event older than an operator's update
        # applied first): the timeline stays newest first, as Statuspage lists it.
        shown = max(at, *(u.created_at for u in incident.updates[:1]))
        update = PublicUpdate(update_id, status, body, shown, shown, tuple(affected))
        was_resolved = not incident.is_open
        changed = dataclasses.replace(
            incident,
            status=status,
            updated_at=max(at, incident.updated_at),
            monitoring_at=(
                incident.monitoring_at or at
                if status is PublicIncidentStatus.MONITORING
                else incident.monitoring_at
            ),
            resolved_at=(incident.resolved_at if was_resolved else at) if resolved else None,
            component_ids=tuple(dict.fromkeys((*incident.component_ids, *merged))),
            updates=capped((update, *incident.updates)),
        )
        record = IncidentRecord(changed, merged, record.internal)
        self.records[public_id] = record
        self.changed_incidents.add(public_id)
        return record

    def restatus(
        self, public_id: str, at: datetime, statuses: Mapping[str, ComponentStatus]
    ) -> None:
        """Changes what an open public incident sets on its components, and its impact."""
        record = self.records.get(public_id)
        if record is None or not record.incident.is_open:
            return
        merged = {**record.statuses, **statuses}
        self.state.open[public_id] = dict(merged)
        self.settle(at, merged)
        incident = dataclasses.replace(
            record.incident,
            impact=IMPACT_OF_STATUS[worst(merged.values())],
            updated_at=max(at, record.incident.updated_at),
        )
        self.records[public_id] = IncidentRecord(incident, merged, record.internal)
        self.changed_incidents.add(public_id)

    def edit_incident(
        self, public_id: str, at: datetime, name: str | None, impact: Impact | None
    ) -> None:
        """Corrects a public incident's name or impact (no update, no component change)."""
        record = self.records.get(public_id)
        if record is None:
            return
        incident = dataclasses.replace(
            record.incident,
            name=record.incident.name if name is None else name,
            impact=record.incident.impact if impact is None else impact,
            updated_at=max(at, record.incident.updated_at),
        )
        self.records[public_id] = IncidentRecord(incident, record.statuses, record.internal)
        self.changed_incidents.add(public_id)

    def edit_update(self, public_id: str, update_id: str, at: datetime, body: str) -> None:
        """Replaces an update's text (a correction, or a redaction of what must not show)."""
        record = self.records.get(public_id)
        if record is None:
            return
        updates = tuple(
            dataclasses.replace(u, body=body) if u.id == update_id else u
            for u in record.incident.updates
        )
        incident = dataclasses.replace(
            record.incident, updates=updates, updated_at=max(at, record.incident.updated_at)
        )
        self.records[public_id] = IncidentRecord(incident, record.statuses, record.internal)
        self.changed_incidents.add(public_id)

    def delete_update(self, public_id: str, update_id: str, at: datetime) -> None:
        """Removes an update from the timeline (the incident keeps its status; its last
        update is never removed: the API refuses, the incident is deleted instead)."""
        record = self.records.get(public_id)
        if record is None:
            return
        updates = tuple(u for u in record.incident.updates if u.id != update_id)
        if not updates:
            return
        incident = dataclasses.replace(
            record.incident, updates=updates, updated_at=max(at, record.incident.updated_at)
        )
        self.records[public_id] = IncidentRecord(incident, record.statuses, record.internal)
        self.changed_incidents.add(public_id)

    def delete_incident(self, public_id: str, at: datetime) -> None:
        """Removes a public incident from the page; its components follow the others from
        ``at`` (what they were before stays in their availability history)."""
        record = self.records.pop(public_id, None)
        if record is None:
            return
        self.state.open.pop(public_id, None)
        self.settle(at, record.statuses)
        self.changed_incidents.add(public_id)
        self.deleted_incidents.add(public_id)

    # Maintenances written through the API.

    def put_maintenance(self, maintenance: PublicMaintenance, at: datetime) -> None:
        """Stores a new or changed maintenance; its components change at ``at``."""
        self.maintenances[maintenance.id] = maintenance
        self.changed_maintenances.add(maintenance.id)
        self.settle(at, maintenance.component_ids)

    def update_maintenance(
        self,
        maintenance_id: str,
        update_id: str,
        at: datetime,
        status: MaintenanceStatus,
        body: str,
    ) -> PublicMaintenance | None:
        """Adds an update to a maintenance: its status is the update's from then on, but
        for one completed by ``at``, which stays completed (an update another replica
        filed before; the API refuses it after, ``commands.check_not_reopened``)."""
        found = self.maintenances.get(maintenance_id)
        if found is None:
            return None
        if effective(found, at).status is MaintenanceStatus.COMPLETED:
            status = MaintenanceStatus.COMPLETED
        update = MaintenanceUpdate(update_id, status, body, at, at)
        changed = dataclasses.replace(
            found,
            status=status,
            updated_at=max(at, found.updated_at),
            updates=capped((update, *found.updates)),
        )
        self.put_maintenance(changed, at)
        return changed

    def edit_maintenance(self, command: dict[str, Any]) -> None:
        """Applies an ``edit_maintenance`` command (``statuspage.commands``): its name,
        window and components as given, then its update if it has a body. A window change
        that became one of the past since the API checked it (a command applied before it
        completed or started the maintenance) is left out; its components follow at once."""
        found = self.maintenances.get(command["id"])
        if found is None:
            return
        fields, at = command["fields"], from_micros(command["at"])
        then = effective(found, at).status
        done = then is MaintenanceStatus.COMPLETED
        starts = fields["scheduled_for"]
        ends = fields["scheduled_until"]
        names = fields["components"]
        known = {c.name for c in self.page.components}
        changed = dataclasses.replace(
            found,
            name=fields["name"] or found.name,
            scheduled_for=(
                found.scheduled_for
                if starts is None or done or then in ACTIVE
                else from_micros(starts)
            ),
            scheduled_until=found.scheduled_until if ends is None or done else from_micros(ends),
            component_ids=(
                found.component_ids
                if names is None or done
                else tuple(n for n in names if n in known) or found.component_ids
            ),
            updated_at=max(at, found.updated_at),
        )
        if changed.scheduled_until <= changed.scheduled_for:
            changed = dataclasses.replace(changed, scheduled_until=found.scheduled_until)
        self.put_maintenance(changed, at)
        self.settle(at, found.component_ids)  # those it left
        if fields["body"] is not None:
            status = MaintenanceStatus(fields["status"] or effective(changed, at).status)
            self.update_maintenance(changed.id, command["update_id"], at, status, fields["body"])

    def edit_maintenance_update(
        self, maintenance_id: str, update_id: str, at: datetime, body: str
    ) -> None:
        """Replaces a maintenance update's text (a correction, or a redaction)."""
        found = self.maintenances.get(maintenance_id)
        if found is None:
            return
        updates = tuple(
            dataclasses.replace(u, body=body) if u.id == update_id else u for u in found.updates
        )
        changed = dataclasses.replace(found, updates=updates, updated_at=max(at, found.updated_at))
        self.put_maintenance(changed, at)

    def delete_maintenance_update(self, maintenance_id: str, update_id: str, at: datetime) -> None:
        """Removes an update from a maintenance's timeline (it keeps its status; its last
        update is never removed: the API refuses, the maintenance is deleted instead)."""
        found = self.maintenances.get(maintenance_id)
        if found is None:
            return
        updates = tuple(u for u in found.updates if u.id != update_id)
        if not updates:
            return
        changed = dataclasses.replace(found, updates=updates, updated_at=max(at, found.updated_at))
        self.put_maintenance(changed, at)

    def delete_maintenance(self, maintenance_id: str, at: datetime) -> None:
        """Removes a maintenance from the page; its components leave maintenance at ``at``
        (the stretch they spent in it stays in their availability history)."""
        found = self.maintenances.pop(maintenance_id, None)
        if found is None:
            return
        self.changed_maintenances.add(maintenance_id)
        self.deleted_maintenances.add(maintenance_id)
        self.settle(at, found.component_ids)

    def maintenance_command(self, command: dict[str, Any]) -> None:
        """Applies an operator's edit or removal of a maintenance or of one of its updates."""
        op, at, target = command["op"], from_micros(command["at"]), command["id"]
        fields = command["fields"]
        if op == "edit_maintenance":
            self.edit_maintenance(command)
        elif op == "edit_maintenance_update":
            self.edit_maintenance_update(target, fields["update"], at, fields["body"])
        elif op == "delete_maintenance_update":
            self.delete_maintenance_update(target, fields["update"], at)
        elif op == "delete_maintenance":
            self.delete_maintenance(target, at)


def statuses_from(raw: Mapping[str, Any]) -> dict[str, ComponentStatus]:
    """Component statuses of a command (``{component: status}``)."""
    return {name: ComponentStatus(value) for name, value in raw.items()}
