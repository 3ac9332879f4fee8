"""Tocsin's open alerts in the shape of Alertmanager's ``gettableAlert``, as JSON text.

An open alert is a firing alert of an open incident. One alert can be part of several
incidents (routes with ``continue``); it is shown once, with each incident's receiver,
as Alertmanager shows an alert once with the receivers of every route it matches. An
incident's receiver is its escalation policy, else its route's name (or key).

The alerts come as the store's documents (``core.codec.alert_documents``). Each is
rendered once per version of its incident (``alert_columns``), whole, with that
incident's receiver; an alert part of several incidents has its receivers replaced
when it is shown (``with_receivers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

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
        self._receiver_fields: dict[tuple[str, ...], tuple[list[dict[str, str]], bytes]] = {}

    def status(self, muted_by: str | None) -> MuteStatus:
        """Why the alert is muted, read from its recorded reason (once per reason)."""
        return self._status(muted_by)[0]

    def render(
        self, fingerprint: str, document: Mapping[str, Any], receivers: tuple[str, ...]
    ) -> bytes:
        """Renders a firing alert's document as its whole JSON object, with ``receivers``."""
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
        view["receivers"] = self._receivers(receivers)[0]
        # orjson's answer keeps the whole buffer it wrote into, a page for some 550 bytes:
        # 100,000 of them held cost 400 MB of fresh pages. A copy of the alert's size
        # is what is kept.
        return bytes(memoryview(orjson.dumps(view)))

    def with_receivers(
        self, body: bytes, own: tuple[str, ...], receivers: tuple[str, ...]
    ) -> bytes:
        """The alert that ``render`` gave with ``own`` receivers, shown with ``receivers``.

        An alert part of several incidents is rendered with each one's receiver, and
        shown once with all of theirs.
        """
        if receivers == own:
            return body
        return body[: -len(self._receivers(own)[1])] + self._receivers(receivers)[1]

    def _receivers(self, receivers: tuple[str, ...]) -> tuple[list[dict[str, str]], bytes]:
        """The ``receivers`` field (shared by every alert that shows them) and its JSON tail."""
        found = self._receiver_fields.get(receivers)
        if found is None:
            field = [{"name": r} for r in receivers]
            tail = b',"receivers":' + orjson.dumps(field) + b"}"
            found = self._receiver_fields[receivers] = (field, tail)
        return found

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


@lru_cache(maxsize=65_536)
def instant(value: int) -> str:
    """An instant stored in microseconds, in RFC 3339 (alerts share most of theirs)."""
    return format_rfc3339(from_micros(value))


def group_labels(
    incident: Incident, labels: Sequence[Mapping[str, str]], rules: Rules
) -> dict[str, str]:
    """The labels that make the incident's group, as Alertmanager shows a group's labels.

    Those of its route's ``group_by``; an alert that is an incident of its own shows all
    its labels; if a reload removed the route, the labels all its alerts share.
    """
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
