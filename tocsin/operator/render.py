"""JSON views of incidents and silences for the operator API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.incident import Incident, IncidentAlert, IncidentEvent, Task
from core.incident_actions import available_actions
from core.model import AlertStatus
from core.silence import Silence
from core.timestamps import format_rfc3339
from rules.priority import PriorityMatrix

# The most alerts an ``alerts_joined`` timeline entry lists; the incident's alerts
# (paged) have them all.
JOINED_ALERTS_LISTED = 20


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else format_rfc3339(instant)


def _level_name(level: int | None, names: tuple[str, ...]) -> str | None:
    # Named as the rules and --explain name it; a level the rules in force no longer
    # have (they were reloaded with fewer) is shown as its number.
    if level is None:
        return None
    return names[level - 1] if 1 <= level <= len(names) else str(level)


def incident_summary(
    incident: Incident, matrix: PriorityMatrix, counts: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The incident without its alerts and timeline, as lists show it.

    Impact and urgency are given by their names in ``matrix`` (the rules in force).
    ``counts`` (alerts, firing) are the store's (IncidentSummary), for an incident read
    without its alerts; else they are counted from ``incident.alerts``.
    """
    if counts is None:
        firing = sum(1 for a in incident.alerts.values() if a.status is AlertStatus.FIRING)
        total = len(incident.alerts)
    else:
        total, firing = counts
    return {
        "id": incident.id,
        "title": incident.title,
        "state": incident.state.value,
        "priority": incident.priority,
        "category": incident.category,
        "service": incident.service,
        "impact": _level_name(incident.impact, matrix.impacts),
        "urgency": _level_name(incident.urgency, matrix.urgencies),
        "team": incident.team,
        "route": incident.route,
        "policy": incident.policy,
        "assignee": incident.assignee,
        "group_key": incident.group_key,
        "opened_at": _time(incident.opened_at),
        "acknowledged_at": _time(incident.acknowledged_at),
        "resolved_at": _time(incident.resolved_at),
        "closed_at": _time(incident.closed_at),
        # Always of the whole incident, whatever page of its alerts a detail shows.
        "counts": {
            "alerts": total,
            "firing": firing,
            "resolved": total - firing,
        },
        "flags": {
            "flapping": incident.flapping,
            "stale_resolved": incident.stale_resolved,
            "held": incident.held,
            "muted": incident.muted,
        },
        "public": incident.public,
        "components": list(incident.components),
        **lifecycle_view(incident),
    }


def etag(incident: Incident) -> str:
    """The incident's ETag: its version, quoted (``If-Match`` takes it back)."""
    return f'"{incident.version}"'


def lifecycle_view(incident: Incident) -> dict[str, Any]:
    """What people and the lifecycle decided: who did what when, tasks, the actions allowed."""
    return {
        "version": incident.version,
        "etag": etag(incident),
        "allowed_actions": list(available_actions(incident)),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_by": incident.resolved_by,
        "resolution_code": incident.resolution_code,
        "resolution_notes": incident.resolution_notes,
        "auto_resolved": incident.auto_resolved,
        "closed_by": incident.closed_by,
        "hold_reason": incident.hold_reason,
        "on_hold_since": _time(incident.on_hold_since),
        "on_hold_total_seconds": incident.on_hold_total.total_seconds(),
        "reopen_count": incident.reopen_count,
        "tasks": [_task(t) for t in incident.tasks],
        "problem_id": incident.problem_id,
        "merged_into": incident.merged_into,
    }


def _task(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "source": task.source,
        "created_by": task.created_by,
        "created_at": _time(task.created_at),
        "completed_by": task.completed_by,
        "completed_at": _time(task.completed_at),
    }


def incident_detail(
    incident: Incident,
    alerts: Iterable[IncidentAlert],
    timeline: Iterable[IncidentEvent],
    matrix: PriorityMatrix,
    counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The incident with the given alerts and timeline events (a page of each).

    ``counts`` as for :func:`incident_summary`; the timeline's alerts are looked up in
    ``incident.alerts``, which then holds the page's and those the timeline names.
    """
    return {
        **incident_summary(incident, matrix, counts),
        "alerts": [_alert(a) for a in alerts],
        "timeline": [
            {"at": _time(e.at), "actor": e.actor, "kind": e.kind, "detail": _detail(incident, e)}
            for e in timeline
        ],
    }


def _detail(incident: Incident, event: IncidentEvent) -> dict[str, Any]:
    """The event's detail, each alert it names with its labels.

    The store keeps an alert's event by its fingerprint only: the labels are the
    incident's alert's, which never change, and a storm would store them twice. So an
    event about one alert (``alert_firing``, ``alert_resolved``, ``alert_expired``,
    ``priority_raised``, ``reopened``...) gets ``labels``; one listing ``fingerprints``
    (``muted``, ``unmuted``) gets ``alerts`` with each one's labels; and each alert of an
    ``alerts_joined`` gets its labels.
    """
    detail = dict(event.detail)
    fingerprint = detail.get("fingerprint")
    if isinstance(fingerprint, str) and "labels" not in detail:
        detail["labels"] = _labels_of(incident, fingerprint)
    listed = detail.get("fingerprints")
    if isinstance(listed, list) and "alerts" not in detail:
        detail["alerts"] = [
            {"fingerprint": f, "labels": _labels_of(incident, f)}
            for f in listed
            if isinstance(f, str)
        ]
    if event.kind == "alerts_joined":
        # A storm step joins thousands at once: list the first few, count the rest.
        joined = detail["alerts"]
        detail["alerts"] = [
            {**alert, "labels": _labels_of(incident, alert["fingerprint"])}
            for alert in joined[:JOINED_ALERTS_LISTED]
        ]
        if len(joined) > JOINED_ALERTS_LISTED:
            detail["more_alerts"] = len(joined) - JOINED_ALERTS_LISTED
    return detail


def _labels_of(incident: Incident, fingerprint: str) -> dict[str, str]:
    alert = incident.alerts.get(fingerprint)
    return {} if alert is None else dict(alert.labels)


def _alert(alert: IncidentAlert) -> dict[str, Any]:
    """One alert of an incident: what its source said, and when Tocsin received it.

    ``starts_at``, ``ends_at`` and ``generator_url`` are the source's (``startsAt``,
    ``endsAt``, ``generatorURL`` of its latest report); ``first_received_at`` and
    ``last_received_at`` are when Tocsin received its first and latest report;
    ``starts_at`` is null for an alert stored before Tocsin kept it; ``expired`` says
    Tocsin resolved it when its end passed, not its sender; ``dedup_key`` is the
    sender's key for it, if it gave one.
    """
    return {
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "status": alert.status.value,
        "count": alert.count,
        "starts_at": _time(alert.starts_at),
        "ends_at": _time(alert.ends_at),
        "generator_url": alert.generator_url,
        "first_received_at": _time(alert.first_received_at),
        "last_received_at": _time(alert.last_received_at),
        "muted_by": alert.muted_by,
        "expired": alert.expired,
        # The sender's own key (PagerDuty's or a webhook's dedup_key), else null.
        "dedup_key": alert.dedup_key,
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
        # Created through the API (the rules files' own are read-only: rules_silences).
        "source": "api",
        "read_only": False,
    }
