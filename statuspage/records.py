"""How the status page keeps its state: consumer documents (core.store.events), both stores.

Collections (all written by the one member holding the ``statuspage`` group's lease, in
the same atomic write as its cursor; see ``statuspage.writer``):

- ``status_incident``: one public incident per key (its public id), with the status it
  sets on each component while open. Filed under a *mirrored* due time (see
  :func:`newest_first_due`) so that ``due_documents`` lists them newest first through
  the due index, without a scan.
- ``status_maintenance``: scheduled maintenances written through the API, the same way
  by their start.
- ``status_link``: per internal incident id, its public id (or none, with the priority
  it was judged at); deleted when the internal incident closes, so it stays small.
- ``status_state``: one document, ``page``: every component's current status and since
  when, and the open public incidents' component statuses (what the writer decides on).
- ``status_state``, ``changes``: a counter the writer moves on with each step that
  writes, and what its latest steps changed (``statuspage.changelog``), so that every
  replica's site, not only the writer's, follows the page.
- ``status_interval``: per component and UTC day (``website/2026-12-01``), the
  non-operational stretches of that day, cut at UTC midnight: 50 components x 90 days
  is 4,500 small documents, read in one call.
- ``status_command``: operator requests from the API, due at their creation, which the
  writer applies in order and deletes.
- ``status_command_failed``: a command the writer could not apply, moved here (same
  key) with the error, so that it does not block the commands after it.
- ``status_idempotency``: per ``Idempotency-Key`` of the status API (hashed with its API
  key), the request's fingerprint, the id it wrote to and the command that acted, due to
  expire after :data:`IDEMPOTENCY_KEEP`; written with that command's change, so a
  retried request (even one filed before the first was applied) acts once.

Times are stored as microseconds since the epoch (``core.timestamps.micros``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.timestamps import from_micros, micros
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

INCIDENTS = "status_incident"
MAINTENANCES = "status_maintenance"
LINKS = "status_link"
STATE = "status_state"
STATE_KEY = "page"
# In STATE: the generation of the page's documents and what its latest steps changed.
CHANGES_KEY = "changes"
INTERVALS = "status_interval"
COMMANDS = "status_command"
FAILED_COMMANDS = "status_command_failed"
IDEMPOTENCY = "status_idempotency"
IDEMPOTENCY_KEEP = timedelta(hours=24)

# Mirror point of newest_first_due: before 2100, mirrored times stay under 2^53
# microseconds, which Redis keeps exactly in a sorted set's score.
_MIRROR = datetime(2100, 1, 1, tzinfo=UTC)
# Later than every mirrored time: due_documents(..., EVERYTHING, n) lists a collection.
EVERYTHING = datetime(2200, 1, 1, tzinfo=UTC)


def newest_first_due(instant: datetime) -> datetime:
    """A due time that sorts ``instant`` newest first (due indexes sort ascending)."""
    return _MIRROR + (_MIRROR - instant)


def interval_key(component: str, day: date) -> str:
    """The key of a component's intervals of one UTC day."""
    return f"{component}/{day.isoformat()}"


# Enum members by value: a dict look-up costs a fraction of Enum.__call__, and a snapshot
# decodes some 50,000 of them.
_UPDATE_STATUS = {s.value: s for s in PublicIncidentStatus}
_COMPONENT_STATUS = {s.value: s for s in ComponentStatus}


def _t(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


def _d(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """A public incident as stored: the public model plus what only the writer reads.

    ``statuses`` is what the incident sets on each component while it is open;
    ``internal`` the internal incident it came from (never shown).
    """

    incident: PublicIncident
    statuses: dict[str, ComponentStatus] = field(default_factory=dict)
    internal: str | None = None

    def encode(self) -> dict[str, Any]:
        """The stored document."""
        i = self.incident
        return {
            "id": i.id,
            "name": i.name,
            "status": i.status.value,
            "impact": i.impact.value,
            "created_at": micros(i.created_at),
            "updated_at": micros(i.updated_at),
            "started_at": micros(i.started_at),
            "monitoring_at": _t(i.monitoring_at),
            "resolved_at": _t(i.resolved_at),
            "components": list(i.component_ids),
            "updates": [_encode_update(u) for u in i.updates],
            "statuses": {k: v.value for k, v in self.statuses.items()},
            "internal": self.internal,
        }

    @staticmethod
    def decode(raw: dict[str, Any]) -> IncidentRecord:
        """Reads a stored document back."""
        incident = PublicIncident(
            id=raw["id"],
            name=raw["name"],
            status=PublicIncidentStatus(raw["status"]),
            impact=Impact(raw["impact"]),
            created_at=from_micros(raw["created_at"]),
            updated_at=from_micros(raw["updated_at"]),
            started_at=from_micros(raw["started_at"]),
            monitoring_at=_d(raw["monitoring_at"]),
            resolved_at=_d(raw["resolved_at"]),
            component_ids=tuple(raw["components"]),
            updates=tuple(_decode_update(u) for u in raw["updates"]),
        )
        statuses = {k: ComponentStatus(v) for k, v in raw["statuses"].items()}
        return IncidentRecord(incident, statuses, raw["internal"])


def _encode_update(update: PublicUpdate) -> dict[str, Any]:
    return {
        "id": update.id,
        "status": update.status.value,
        "body": update.body,
        "created_at": micros(update.created_at),
        "display_at": micros(update.display_at),
        "affected": [
            [a.id, a.old_status.value, a.new_status.value] for a in update.affected_components
        ],
    }


def _decode_update(raw: dict[str, Any]) -> PublicUpdate:
    created = from_micros(raw["created_at"])
    shown = raw["display_at"]
    return PublicUpdate(
        raw["id"],
        _UPDATE_STATUS[raw["status"]],
        raw["body"],
        created,
        created if shown == raw["created_at"] else from_micros(shown),
        tuple(
            AffectedComponent(c, _COMPONENT_STATUS[old], _COMPONENT_STATUS[new])
            for c, old, new in raw["affected"]
        )
        if raw["affected"]
        else (),
    )


def encode_maintenance(m: PublicMaintenance) -> dict[str, Any]:
    """The stored document of a maintenance written through the API."""
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status.value,
        "scheduled_for": micros(m.scheduled_for),
        "scheduled_until": micros(m.scheduled_until),
        "components": list(m.component_ids),
        "updates": [
            {
                "id": u.id,
                "status": u.status.value,
                "body": u.body,
                "created_at": micros(u.created_at),
                "display_at": micros(u.display_at),
            }
            for u in m.updates
        ],
        "created_at": micros(m.created_at),
        "updated_at": micros(m.updated_at),
    }


def decode_maintenance(raw: dict[str, Any]) -> PublicMaintenance:
    """Reads a stored maintenance back (its stored status, see statuspage.maintenance)."""
    return PublicMaintenance(
        id=raw["id"],
        name=raw["name"],
        status=MaintenanceStatus(raw["status"]),
        scheduled_for=from_micros(raw["scheduled_for"]),
        scheduled_until=from_micros(raw["scheduled_until"]),
        component_ids=tuple(raw["components"]),
        updates=tuple(
            MaintenanceUpdate(
                u["id"],
                MaintenanceStatus(u["status"]),
                u["body"],
                from_micros(u["created_at"]),
                from_micros(u["display_at"]),
            )
            for u in raw["updates"]
        ),
        created_at=from_micros(raw["created_at"]),
        updated_at=from_micros(raw["updated_at"]),
    )


@dataclass(slots=True)
class PageState:
    """The writer's working state: each component's status since when, open incidents.

    ``components`` maps a component id to (status, since, first seen); ``open`` maps an
    open public incident's id to the statuses it sets.
    """

    components: dict[str, tuple[ComponentStatus, datetime, datetime]] = field(default_factory=dict)
    open: dict[str, dict[str, ComponentStatus]] = field(default_factory=dict)
    # The API's maintenances that may still put components under maintenance, by id,
    # with their end.
    maintenances: dict[str, datetime] = field(default_factory=dict)
    # The key of the rules' maintenance ids (``maintenance.window_id``), made once and
    # kept here so that every replica and every build gives a window the same id;
    # ``fresh_key``: made by this decode, not stored yet (the writer then stores it).
    id_key: str = field(default_factory=lambda: secrets.token_hex(16))
    fresh_key: bool = False

    def encode(self) -> dict[str, Any]:
        """The stored document."""
        return {
            "components": {
                c: [s.value, micros(since), micros(seen)]
                for c, (s, since, seen) in self.components.items()
            },
            "open": {i: {c: s.value for c, s in v.items()} for i, v in self.open.items()},
            "maintenances": {k: micros(v) for k, v in self.maintenances.items()},
            "id_key": self.id_key,
        }

    @staticmethod
    def decode(raw: dict[str, Any] | None) -> PageState:
        """Reads the stored document back; a new state when there is none."""
        if raw is None:
            return PageState(fresh_key=True)
        key = raw.get("id_key")
        return PageState(
            {
                c: (ComponentStatus(s), from_micros(since), from_micros(seen))
                for c, (s, since, seen) in raw["components"].items()
            },
            {i: {c: ComponentStatus(s) for c, s in v.items()} for i, v in raw["open"].items()},
            {k: from_micros(v) for k, v in raw.get("maintenances", {}).items()},
            **({"id_key": key} if isinstance(key, str) else {"fresh_key": True}),
        )


# One recorded stretch of a component's status: start, end (UTC) and status.
Stretch = tuple[datetime, datetime, ComponentStatus]


def cut_at_midnight(start: datetime, end: datetime, status: ComponentStatus) -> list[Stretch]:
    """Cuts a stretch at each UTC midnight, so that each piece belongs to one day's key."""
    pieces: list[Stretch] = []
    while start < end:
        midnight = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), UTC)
        piece_end = min(end, midnight)
        pieces.append((start, piece_end, status))
        start = piece_end
    return pieces


def encode_stretches(stretches: list[Stretch]) -> dict[str, Any]:
    """A day document of stretches."""
    return {"stretches": [[micros(a), micros(b), s.value] for a, b, s in stretches]}


def decode_stretches(raw: dict[str, Any] | None) -> list[Stretch]:
    """Reads a day document back (none: no stretch)."""
    if raw is None:
        return []
    return [(from_micros(a), from_micros(b), ComponentStatus(s)) for a, b, s in raw["stretches"]]
