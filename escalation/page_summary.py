"""What an outbox entry says about its incident, beyond its title: a bounded summary.

The notification templates (``rules.templates``, kind ``notification``) may use the
incident's category, team, impact, urgency and opening time, its labels and annotations
and its alert count. A notifier sends an entry long after the stage decided it and reads
no incident, so the stage copies these into the entry when it decides the page
(:func:`summary_fields`, one incident read per incident per pass), as of that moment.

The fields, flat in the entry (an entry written before they existed reads them as
absent: empty text, no labels, ``alert_count`` 0):

- ``category``, ``team``, ``impact``, ``urgency`` (impact and urgency by their names in
  the rules' priority matrix), ``opened_at`` (RFC 3339);
- ``alert_count`` (the incident's alerts) and ``firing_count`` (those firing);
- ``labels``: the labels every firing alert shares (all alerts' if none fires), as
  Alertmanager's common labels, at most :data:`MAX_LABELS` of them;
- ``annotations``: :data:`ANNOTATIONS` of the first firing alert (else the first alert).

Keys are cut to :data:`MAX_KEY` characters and values to :data:`MAX_VALUE` (annotations
to :data:`MAX_ANNOTATION`), so an entry stays under about 8 KiB whatever the alerts say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.incident import Incident, IncidentAlert
from core.model import AlertStatus
from core.timestamps import format_rfc3339
from rules.priority import PriorityMatrix

MAX_LABELS = 20
MAX_KEY = 64
MAX_VALUE = 200
MAX_ANNOTATION = 1000
# The annotations templates use; others (often long, sometimes secret) are not copied.
ANNOTATIONS = ("summary", "description", "runbook_url", "message")

SUMMARY_FIELDS = (
    "category",
    "team",
    "impact",
    "urgency",
    "opened_at",
    "alert_count",
    "firing_count",
    "labels",
    "annotations",
)


def summary_fields(incident: Incident, matrix: PriorityMatrix) -> dict[str, Any]:
    """The summary of ``incident`` to add to its outbox entries (see the module docstring)."""
    alerts = sorted(incident.alerts.values(), key=lambda a: (a.first_seen, a.fingerprint))
    firing = [a for a in alerts if a.status is AlertStatus.FIRING]
    shown = firing or alerts
    return {
        "category": incident.category,
        "team": incident.team,
        "impact": _name(matrix.impacts, incident.impact),
        "urgency": _name(matrix.urgencies, incident.urgency),
        "opened_at": format_rfc3339(incident.opened_at),
        "alert_count": len(alerts),
        "firing_count": len(firing),
        "labels": _common_labels(shown),
        "annotations": _annotations(shown[0]) if shown else {},
    }


def _name(names: tuple[str, ...], level: int | None) -> str | None:
    """A level's name in the matrix (its number if the rules no longer have it)."""
    if level is None:
        return None
    return names[level - 1] if 1 <= level <= len(names) else str(level)


def _common_labels(alerts: list[IncidentAlert]) -> dict[str, str]:
    """The label pairs all ``alerts`` share, cut to the limits, in key order."""
    if not alerts:
        return {}
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return {_cut(k, MAX_KEY): _cut(common[k], MAX_VALUE) for k in sorted(common)[:MAX_LABELS]}


def _annotations(alert: IncidentAlert) -> dict[str, str]:
    """The templates' annotations of ``alert``, cut to :data:`MAX_ANNOTATION`."""
    found: Mapping[str, str] = alert.annotations
    return {k: _cut(str(found[k]), MAX_ANNOTATION) for k in ANNOTATIONS if found.get(k)}


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, ending in an ellipsis if it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
