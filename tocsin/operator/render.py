"""JSON views of incidents and silences for the operator API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.incident import Incident, IncidentAlert, IncidentEvent
from core.model import AlertStatus
from core.silence import Silence
from core.timestamps import format_rfc3339


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else format_rfc3339(instant)


def incident_summary(incident: Incident) -> dict[str, Any]:
    """The incident without its alerts and timeline, as lists show it."""
    firing = sum(1 for a in incident.alerts.values() if a.status is AlertStatus.FIRING)
    return {
        "id": incident.id,
        "title": incident.title,
        "state": incident.state.value,
        "priority": incident.priority,
        "category": incident.category,
        "service": incident.service,
        "impact": incident.impact,
        "urgency": incident.urgency,
        "team": incident.team,
        "route": incident.route,
        "policy": incident.policy,
        "assignee": incident.assignee,
        "group_key": incident.group_key,
        "opened_at": _time(incident.opened_at),
        "acknowledged_at": _time(incident.acknowledged_at),
        "resolved_at": _time(incident.resolved_at),
        "closed_at": _time(incident.closed_at),
        "counts": {"alerts": len(incident.alerts), "firing": firing},
        "flags": {
            "flapping": incident.flapping,
            "stale_resolved": incident.stale_resolved,
            "held": incident.held,
            "muted": incident.muted,
        },
        "public": incident.public,
        "components": list(incident.components),
    }


def incident_detail(incident: Incident, timeline: list[IncidentEvent]) -> dict[str, Any]:
    """The incident with its alerts and its whole timeline."""
    return {
        **incident_summary(incident),
        "alerts": [_alert(a) for a in incident.alerts.values()],
        "timeline": [
            {"at": _time(e.at), "actor": e.actor, "kind": e.kind, "detail": _detail(incident, e)}
            for e in timeline
        ],
    }


def _detail(incident: Incident, event: IncidentEvent) -> dict[str, Any]:
    """The event's detail; each alert of an ``alerts_joined`` with its labels.

    The store keeps a join as the alert's fingerprint and status only: the labels are
    the incident's alert's, which never change, and a storm would store them twice.
    """
    detail = dict(event.detail)
    if event.kind == "alerts_joined":
        detail["alerts"] = [
            {**joined, "labels": _labels_of(incident, joined["fingerprint"])}
            for joined in detail["alerts"]
        ]
    return detail


def _labels_of(incident: Incident, fingerprint: str) -> dict[str, str]:
    alert = incident.alerts.get(fingerprint)
    return {} if alert is None else dict(alert.labels)


def _alert(alert: IncidentAlert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "status": alert.status.value,
        "count": alert.count,
        "first_seen": _time(alert.first_seen),
        "last_seen": _time(alert.last_seen),
        "ends_at": _time(alert.ends_at),
        "muted_by": alert.muted_by,
    }


def silence_view(silence: Silence, now: datetime) -> dict[str, Any]:
    """A silence as Alertmanager's API shows it, with its state at ``now``."""
    return {
        "id": silence.id,
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": _time(silence.starts_at),
        "ends_at": _time(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": _time(silence.created_at),
        "state": silence.state(now).value,
    }
