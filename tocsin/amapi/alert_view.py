"""Tocsin's open alerts in the shape of Alertmanager's ``gettableAlert``, as JSON text.

An open alert is a firing alert of an open incident. One alert can be part of several
incidents (routes with ``continue``); it is shown once, with each incident's receiver,
as Alertmanager shows an alert once with the receivers of every route it matches. An
incident's receiver is its escalation policy, else its route's name (or key).

The alerts come as the store's documents (``core.codec.decode_incident_documents``).
Each is rendered once per version of its incident (``open_alerts``): all of it but its
receivers, which are appended when it is sent, because they depend on every incident
the alert is part of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from core.incident import Incident
from core.timestamps import format_rfc3339, from_micros
from rules.model import Rules
from rules.routing import find_route
from tocsin.amapi.mutes import MuteStatus, mute_status

# Go's zero time, which Alertmanager's clients read as "no end": Tocsin keeps firing an
# alert without an end until told otherwise (resolve_timeout 0).
NO_END = "0001-01-01T00:00:00Z"
DEFAULT_RECEIVER = "tocsin"


class RenderedAlert(NamedTuple):
    """One firing alert, rendered but for its receivers, with what filters look at."""

    fingerprint: str
    labels: Mapping[str, str]  # the stored document's own (no copy: a storm has 100,000)
    muted_by: str | None
    last_seen: int  # microseconds; the latest of an alert's copies in several incidents wins
    head: bytes  # the alert's JSON object without its closing brace and its receivers
    stamp: tuple[Any, ...]  # what changes whenever the document does (``stamp``)


def receiver_of(incident: Incident, rules: Rules) -> str:
    """The receiver an incident's alerts show: its policy, else its route."""
    if incident.policy:
        return incident.policy
    if incident.route:
        route = find_route(rules.route, incident.route)
        return (route.name if route is not None else None) or incident.route
    return DEFAULT_RECEIVER


class AlertRenderer:
    """Renders alert documents as ``gettableAlert`` JSON; what alerts share is done once.

    Built from one version of the rules: the rules silences' ids and ``resolve_timeout``
    are part of what it renders.
    """

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._resolve_timeout = rules.correlation.resolve_timeout
        self._statuses: dict[str | None, tuple[MuteStatus, dict[str, Any]]] = {}
        self._receivers: dict[tuple[str, ...], bytes] = {}

    def status(self, muted_by: str | None) -> MuteStatus:
        """Why the alert is muted, read from its recorded reason (once per reason)."""
        return self._status(muted_by)[0]

    def render(self, fingerprint: str, document: Mapping[str, Any]) -> RenderedAlert:
        """Renders a firing alert's document, all but its receivers."""
        updated = document.get("last_received_at") or document["last_seen"]
        starts = document.get("starts_at") or document.get("first_received_at")
        muted_by = document.get("muted_by")
        view: dict[str, Any] = {
            "labels": document["labels"],
            "annotations": document.get("annotations") or {},
            "fingerprint": fingerprint,
            "startsAt": instant(starts or document["first_seen"]),
            "updatedAt": instant(updated),
            "endsAt": self._end(document.get("ends_at"), updated),
            "status": self._status(muted_by)[1],
        }
        url = document.get("generator_url")
        if url:
            # Alertmanager omits an empty generatorURL (a ``uri``, which "" is not).
            view["generatorURL"] = url
        head = orjson.dumps(view)[:-1]
        labels = document["labels"]
        last_seen = document["last_seen"]
        return RenderedAlert(fingerprint, labels, muted_by, last_seen, head, stamp(document))

    def finish(self, alert: RenderedAlert, receivers: tuple[str, ...]) -> bytes:
        """The alert's whole JSON object, with its receivers."""
        tail = self._receivers.get(receivers)
        if tail is None:
            names = orjson.dumps([{"name": r} for r in receivers])
            tail = self._receivers[receivers] = b',"receivers":' + names + b"}"
        return alert.head + tail

    def _status(self, reason: str | None) -> tuple[MuteStatus, dict[str, Any]]:
        found = self._statuses.get(reason)
        if found is None:
            status = mute_status(reason, self.rules.silences)
            shown = {
                "state": status.state,
                "silencedBy": list(status.silenced_by),
                "inhibitedBy": list(status.inhibited_by),
            }
            found = self._statuses[reason] = (status, shown)
        return found

    def _end(self, ends_at: int | None, updated: int) -> str:
        if ends_at is not None:
            return instant(ends_at)
        if self._resolve_timeout > timedelta(0):
            return format_rfc3339(from_micros(updated) + self._resolve_timeout)
        return NO_END


def stamp(document: Mapping[str, Any]) -> tuple[Any, ...]:
    """What tells one version of an alert document from another.

    Every report applied moves ``position`` and ``last_seen``; a mute that follows its
    cause changes ``muted_by``; a resend's later end moves ``ends_at``.
    """
    return (
        document["position"],
        document["last_seen"],
        document.get("muted_by"),
        document.get("ends_at"),
        document.get("last_received_at"),
    )


@lru_cache(maxsize=65_536)
def instant(value: int) -> str:
    """An instant stored in microseconds, in RFC 3339 (alerts share most of theirs)."""
    return format_rfc3339(from_micros(value))


def group_labels(
    incident: Incident, alerts: Iterable[RenderedAlert], rules: Rules
) -> dict[str, str]:
    """The labels that make the incident's group, as Alertmanager shows a group's labels.

    Those of its route's ``group_by``; an alert that is an incident of its own shows all
    its labels; if a reload removed the route, the labels all its alerts share.
    """
    labels = [a.labels for a in alerts]
    if not labels:
        return {}
    first = labels[0]
    route = find_route(rules.route, incident.route) if incident.route else None
    if route is not None:
        return dict(first) if route.groups_by_identity(first) else route.group_labels(first)
    shared = dict(first)
    for other in labels[1:]:
        shared = {k: v for k, v in shared.items() if other.get(k) == v}
    return shared
