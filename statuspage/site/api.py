"""Statuspage-compatible ``api/v2/*.json``: the fields and value sets Statuspage documents.

Operator and rules text is cleaned of bidi and control characters (``text.clean``), as
on the pages. Every document carries the ``page`` object; times are ISO 8601 with the page zone's
offset; nullable fields are explicit ``null``s; lists of incidents and maintenances
are capped at 50, newest first, as Statuspage's are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from statuspage.model import (
    ComponentStatus,
    MaintenanceStatus,
    PublicComponent,
    PublicIncident,
    PublicMaintenance,
    StatusSnapshot,
)
from statuspage.site.text import clean, file_id, iso

Json = dict[str, Any]
# Per incident id: what its document was made of (page id, URL, zone, the components'
# names), the incident, and its document without its components.
IncidentDocuments = dict[str, tuple[Hashable, PublicIncident, Json]]
# Statuspage's lists hold the 50 most recent.
LIMIT = 50
# summary.json, read by every widget, stays small: each open incident and maintenance
# carries its newest SUMMARY_UPDATES updates (incidents/unresolved.json and the others
# carry them all).
SUMMARY_UPDATES = 5
# How a group's status rolls up from its components: the worst one (maintenance least).
_SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}
ACTIVE_MAINTENANCE = (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING)


def page_id(snapshot: StatusSnapshot) -> str:
    """A stable id for the page (Statuspage's are 12 characters), from its URL."""
    return hashlib.sha256(snapshot.page.url.encode()).hexdigest()[:12]


class ApiDocuments:
    """Builds the JSON documents of one snapshot; shared pieces are built once.
    ``opened``: the snapshot's open incidents, when the caller has them (else they are
    looked for among all of them). ``cache``: the last build's ``made``, whose documents
    of the same incidents are reused (but for their components, which move on their own)."""

    def __init__(
        self,
        snapshot: StatusSnapshot,
        opened: Sequence[PublicIncident] | None = None,
        cache: IncidentDocuments | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.opened = opened
        self._cache = cache or {}
        # The incidents' documents made or reused here, for the next build (``cache``).
        self.made: IncidentDocuments = {}
        self.zone = snapshot.page.time_zone
        self.page_id = page_id(snapshot)
        self.page = {
            "id": self.page_id,
            "name": snapshot.page.name,
            "url": snapshot.page.url,
            "time_zone": snapshot.page.time_zone.key,
            # When what the page shows last changed, not the build: documents change
            # only with the page, so a rebuild with nothing new writes nothing.
            "updated_at": iso(_last_change(snapshot), self.zone),
        }
        self.components = {c.id: self._component(c) for c in snapshot.components}
        # What an incident's document is made of besides the incident (an update's
        # affected components are named).
        self._key = (
            self.page_id,
            snapshot.page.url,
            self.zone.key,
            tuple((c.id, c.name) for c in snapshot.components),
        )
        self.status = {"indicator": snapshot.indicator.value, "description": snapshot.description}

    def documents(self) -> dict[str, bytes]:
        """Path under the site root -> JSON bytes, for every endpoint."""
        snap = self.snapshot
        incidents = [self._incident(i) for i in snap.incidents[:LIMIT]]
        opened = self.opened
        if opened is None:
            opened = [i for i in snap.incidents if i.is_open]
        unresolved = [self._incident(i) for i in opened]
        maints = sorted(snap.maintenances, key=lambda m: m.scheduled_for, reverse=True)
        upcoming = [m for m in maints if m.status == MaintenanceStatus.SCHEDULED]
        active = [m for m in maints if m.status in ACTIVE_MAINTENANCE]
        components = self._component_list()
        docs: dict[str, Json] = {
            "summary.json": {
                "page": self.page,
                "components": components,
                "incidents": [_newest(i) for i in unresolved],
                "scheduled_maintenances": [
                    _newest(self._maintenance(m)) for m in active + upcoming
                ],
                "status": self.status,
            },
            "status.json": {"page": self.page, "status": self.status},
            "components.json": {"page": self.page, "components": components},
            "incidents.json": {"page": self.page, "incidents": incidents},
            "incidents/unresolved.json": {"page": self.page, "incidents": unresolved},
            "scheduled-maintenances.json": {
                "page": self.page,
                "scheduled_maintenances": [self._maintenance(m) for m in maints[:LIMIT]],
            },
            "scheduled-maintenances/upcoming.json": {
                "page": self.page,
                "scheduled_maintenances": [self._maintenance(m) for m in upcoming],
            },
            "scheduled-maintenances/active.json": {
                "page": self.page,
                "scheduled_maintenances": [self._maintenance(m) for m in active],
            },
        }
        return {f"api/v2/{path}": orjson.dumps(doc) for path, doc in docs.items()}

    def _component(self, c: PublicComponent) -> Json:
        return {
            "id": c.id,
            "name": c.name,
            "status": c.status.value,
            "created_at": iso(c.created_at, self.zone),
            "updated_at": iso(c.updated_at, self.zone),
            "position": c.position,
            "description": c.description or None,
            "showcase": c.showcase,
            "start_date": c.start_date.isoformat(),
            "group_id": c.group_id,
            "page_id": self.page_id,
            "group": False,
            "only_show_if_degraded": c.only_show_if_degraded,
        }

    def _component_list(self) -> list[Json]:
        """Components and groups (``group: true`` with their children's ids), page order."""
        by_id = {c.id: c for c in self.snapshot.components}
        out: list[Json] = []
        for group in self.snapshot.groups:
            children = [by_id[i] for i in group.component_ids if i in by_id]
            if not children:
                continue
            worst = max((c.status for c in children), key=_SEVERITY.__getitem__)
            out.append(
                {
                    "id": group.id,
                    "name": group.name,
                    "status": worst.value,
                    "created_at": iso(min(c.created_at for c in children), self.zone),
                    "updated_at": iso(max(c.updated_at for c in children), self.zone),
                    "position": group.position,
                    "description": group.description or None,
                    "showcase": False,
                    "start_date": None,
                    "group_id": None,
                    "page_id": self.page_id,
                    "group": True,
                    "only_show_if_degraded": False,
                    "components": [c.id for c in children],
                }
            )
        out.extend(self.components[c.id] for c in self.snapshot.components)
        return out

    def _shortlink(self, public_id: str) -> str:
        return f"{self.snapshot.page.url.rstrip('/')}/incidents/{file_id(public_id)}.html"

    def _affected(self, items: Iterable[Any]) -> list[Json] | None:
        names: Mapping[str, Json] = self.components
        rows = [
            {
                "code": a.id,
                "name": names[a.id]["name"] if a.id in names else a.id,
                "old_status": a.old_status.value,
                "new_status": a.new_status.value,
            }
            for a in items
        ]
        return rows or None

    def _incident(self, i: PublicIncident) -> Json:
        key = self._key
        known = self.made.get(i.id) or self._cache.get(i.id)
        if known is not None and known[1] is i and known[0] == key:
            document = known[2]
        else:
            document = self._incident_document(i)
        self.made[i.id] = (key, i, document)
        components = [self.components[c] for c in i.component_ids if c in self.components]
        return {**document, "components": components}

    def _incident_document(self, i: PublicIncident) -> Json:
        return {
            "id": i.id,
            "name": clean(i.name),
            "status": i.status.value,
            "created_at": iso(i.created_at, self.zone),
            "updated_at": iso(i.updated_at, self.zone),
            "monitoring_at": iso(i.monitoring_at, self.zone) if i.monitoring_at else None,
            "resolved_at": iso(i.resolved_at, self.zone) if i.resolved_at else None,
            "impact": i.impact.value,
            "shortlink": self._shortlink(i.id),
            "started_at": iso(i.started_at, self.zone),
            "page_id": self.page_id,
            "incident_updates": [
                self._update(i.id, u.id, u.status.value, u.body, u.created_at, u.display_at)
                | {"affected_components": self._affected(u.affected_components)}
                for u in i.updates
            ],
        }

    def _update(
        self, parent: str, uid: str, status: str, body: str, created: Any, shown: Any
    ) -> Json:
        return {
            "id": uid,
            "status": status,
            "body": clean(body),
            "incident_id": parent,
            "created_at": iso(created, self.zone),
            "updated_at": iso(created, self.zone),
            "display_at": iso(shown, self.zone),
            "affected_components": None,
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def _maintenance(self, m: PublicMaintenance) -> Json:
        done = m.status == MaintenanceStatus.COMPLETED
        return {
            "id": m.id,
            "name": clean(m.name),
            "status": m.status.value,
            "created_at": iso(m.created_at, self.zone),
            "updated_at": iso(m.updated_at, self.zone),
            "monitoring_at": None,
            "resolved_at": iso(m.updated_at, self.zone) if done else None,
            "impact": "maintenance",
            "shortlink": f"{self.snapshot.page.url.rstrip('/')}/index.html",
            "started_at": iso(m.scheduled_for, self.zone),
            "page_id": self.page_id,
            "incident_updates": [
                self._update(m.id, u.id, u.status.value, u.body, u.created_at, u.display_at)
                for u in m.updates
            ],
            "components": [self.components[c] for c in m.component_ids if c in self.components],
            "scheduled_for": iso(m.scheduled_for, self.zone),
            "scheduled_until": iso(m.scheduled_until, self.zone),
        }


def _newest(document: Json) -> Json:
    """An incident or maintenance document with its SUMMARY_UPDATES newest updates."""
    return {**document, "incident_updates": document["incident_updates"][:SUMMARY_UPDATES]}


def _last_change(snapshot: StatusSnapshot) -> datetime:
    """The latest change of a component, incident (of the lists) or maintenance."""
    return max(
        [
            *(c.updated_at for c in snapshot.components),
            *(i.updated_at for i in snapshot.incidents[:LIMIT]),
            *(m.updated_at for m in snapshot.maintenances),
        ],
        default=snapshot.page.generated_at,
    )
