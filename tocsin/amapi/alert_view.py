"""Tocsin's open alerts in the shape of Alertmanager's ``gettableAlert``.

An open alert is a firing alert of an open incident. One alert can be part of several
incidents (routes with ``continue``); it is shown once, with each incident's receiver,
as Alertmanager shows an alert once with the receivers of every route it matches. An
incident's receiver is its escalation policy, else its route's name (or key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.incident import Incident, IncidentAlert
from rules.model import Rules
from rules.routing import find_route
from tocsin.amapi.mutes import MuteStatus, mute_status

# Go's zero time, which Alertmanager's clients read as "no end": Tocsin keeps firing an
# alert without an end until told otherwise (resolve_timeout 0).
NO_END = datetime(1, 1, 1, tzinfo=UTC)
DEFAULT_RECEIVER = "tocsin"


@dataclass(slots=True)
class OpenAlert:
    """One firing alert of the open incidents, with the receivers of all of them."""

    alert: IncidentAlert
    status: MuteStatus
    receivers: list[str]


def receiver_of(incident: Incident, rules: Rules) -> str:
    """The receiver an incident's alerts show: its policy, else its route."""
    if incident.policy:
        return incident.policy
    if incident.route:
        route = find_route(rules.route, incident.route)
        return (route.name if route is not None else None) or incident.route
    return DEFAULT_RECEIVER


def add_open_alert(
    into: dict[str, OpenAlert], alert: IncidentAlert, receiver: str, rules: Rules
) -> None:
    """Adds one firing alert of an incident to ``into`` (by fingerprint), with its receiver."""
    known = into.get(alert.fingerprint)
    if known is None:
        status = mute_status(alert.muted_by, rules.silences)
        into[alert.fingerprint] = OpenAlert(alert, status, [receiver])
        return
    if alert.last_seen > known.alert.last_seen:
        known.alert = alert  # the latest report wins, as Alertmanager keeps one alert
        known.status = mute_status(alert.muted_by, rules.silences)
    if receiver not in known.receivers:
        known.receivers.append(receiver)


def alert_view(open_alert: OpenAlert, resolve_timeout: timedelta) -> dict[str, Any]:
    """The alert as ``gettableAlert``; times are datetimes (orjson writes RFC 3339)."""
    alert = open_alert.alert
    status = open_alert.status
    updated = alert.last_received_at or alert.last_seen
    view: dict[str, Any] = {
        "labels": _plain(alert.labels),
        "annotations": _plain(alert.annotations),
        "receivers": [{"name": r} for r in open_alert.receivers],
        "fingerprint": alert.fingerprint,
        "startsAt": alert.starts_at or alert.first_received_at or alert.first_seen,
        "updatedAt": updated,
        "endsAt": _end(alert, updated, resolve_timeout),
        "status": {
            "state": status.state,
            "silencedBy": list(status.silenced_by),
            "inhibitedBy": list(status.inhibited_by),
        },
    }
    if alert.generator_url:
        # Alertmanager omits an empty generatorURL (a ``uri``, which "" is not).
        view["generatorURL"] = alert.generator_url
    return view


def group_labels(
    incident: Incident, alerts: Iterable[IncidentAlert], rules: Rules
) -> dict[str, str]:
    """The labels that make the incident's group, as Alertmanager shows a group's labels.

    Those of its route's ``group_by``; an alert that is an incident of its own shows all
    its labels; if a reload removed the route, the labels all its alerts share.
    """
    first = next(iter(alerts), None)
    if first is None:
        return {}
    route = find_route(rules.route, incident.route) if incident.route else None
    if route is not None:
        if route.groups_by_identity(first.labels):
            return _plain(first.labels)
        return route.group_labels(first.labels)
    shared = dict(first.labels)
    for alert in incident.alerts.values():
        shared = {k: v for k, v in shared.items() if alert.labels.get(k) == v}
    return shared


def _end(alert: IncidentAlert, updated: datetime, resolve_timeout: timedelta) -> datetime:
    if alert.ends_at is not None:
        return alert.ends_at
    if resolve_timeout > timedelta(0):
        return updated + resolve_timeout
    return NO_END


def _plain(mapping: Mapping[str, str]) -> dict[str, str]:
    # orjson writes dicts only; the stores give dicts, so this rarely copies.
    return mapping if type(mapping) is dict else dict(mapping)
