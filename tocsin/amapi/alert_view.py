"""Tocsin's open alerts in the shape of Alertmanager's ``gettableAlert``, as JSON text.

An open alert is a firing alert of an open incident. One alert can be part of several
incidents (routes with ``continue``); it is shown once, with each incident's receiver,
as Alertmanager shows an alert once with the receivers of every route it matches. An
incident's receiver is its escalation policy, else its route's name (or key).

The alerts come as the store's documents, decoded as far as shown (``stored_alerts``).
Each is rendered once per version of its incident (``alert_columns``), whole, with that
incident's receiver, into a bytes template: the stored JSON text of its labels and
annotations is copied as it is, and what alerts share (times, status, receivers) is
encoded once; an alert part of several incidents has its receivers replaced
when it is shown (``with_receivers``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

import msgspec
import orjson

from core.incident import Incident
from core.timestamps import Memo, format_rfc3339, from_micros
from rules.model import Rules
from rules.routing import find_route
from tocsin.amapi.mutes import MuteStatus, mute_status
from tocsin.amapi.stored_alerts import EMPTY_OBJECT, EMPTY_TEXT, StoredAlert, decode_labels

# Go's zero time, which Alertmanager's clients read as "no end": Tocsin keeps firing an
# alert without an end until told otherwise (resolve_timeout 0).
NO_END = "0001-01-01T00:00:00Z"
_NO_END = orjson.dumps(NO_END)
DEFAULT_RECEIVER = "tocsin"
# An alert's JSON object but its receivers, which close it (``with_receivers`` swaps them).
_ALERT = (
    b'{"labels":%b,"annotations":%b,"fingerprint":%b,"startsAt":%b,"updatedAt":%b,'
    b'"endsAt":%b,"status":%b%b%b'
)
_NULL = msgspec.Raw(b"null")
_EMPTY_TEXT = len(EMPTY_TEXT)


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
        self._statuses: dict[str | None, tuple[MuteStatus, bytes]] = {}
        self._receiver_tails: dict[tuple[str, ...], bytes] = {}

    def status(self, muted_by: str | None) -> MuteStatus:
        """Why the alert is muted, read from its recorded reason (once per reason)."""
        return self._status(muted_by)[0]

    def render(self, document: StoredAlert, receivers: tuple[str, ...]) -> bytes:
        """Renders a firing alert's document as its whole JSON object, with ``receivers``."""
        [body] = self.render_batch([document], receivers)
        return body

    def render_batch(
        self, documents: Iterable[StoredAlert], receivers: tuple[str, ...]
    ) -> list[bytes]:
        """Renders firing alerts' documents as their JSON objects, all with ``receivers``.

        The labels, annotations and generator URL are copied as stored (JSON text
        already); what alerts share (times, status, receivers) is encoded once each. One
        loop for a batch, with what it reads held in locals: a call per alert was a
        tenth of the render.
        """
        tail = self._receivers(receivers)
        statuses, status_of, end_of = self._statuses, self._status, self._end
        instant, dumps, template = _instant, orjson.dumps, _ALERT
        bodies: list[bytes] = []
        append = bodies.append
        for d in documents:
            updated = d.last_received_at or d.last_seen
            ends_at, annotations, url = d.ends_at, d.annotations, d.generator_url
            status = statuses.get(d.muted_by) or status_of(d.muted_by)
            body = template % (
                d.labels,
                EMPTY_OBJECT if annotations == _NULL else annotations,
                dumps(d.fingerprint),
                instant(d.starts_at or d.first_received_at or d.first_seen),
                instant(updated),
                instant(ends_at) if ends_at is not None else end_of(None, updated),
                status[1],
                # Alertmanager omits an empty generatorURL (a ``uri``, which "" is not).
                b"" if len(url) <= _EMPTY_TEXT or url == _NULL else b',"generatorURL":' + url,
                tail,
            )
            append(body)
        return bodies

    def with_receivers(
        self, body: bytes, own: tuple[str, ...], receivers: tuple[str, ...]
    ) -> bytes:
        """The alert that ``render`` gave with ``own`` receivers, shown with ``receivers``.

        An alert part of several incidents is rendered with each one's receiver, and
        shown once with all of theirs.
        """
        if receivers == own:
            return body
        return body[: -len(self._receivers(own))] + self._receivers(receivers)

    def _receivers(self, receivers: tuple[str, ...]) -> bytes:
        """The JSON tail of the ``receivers`` field, which closes the alert's object."""
        found = self._receiver_tails.get(receivers)
        if found is None:
            field = [{"name": r} for r in receivers]
            found = self._receiver_tails[receivers] = b',"receivers":' + orjson.dumps(field) + b"}"
        return found

    def _status(self, reason: str | None) -> tuple[MuteStatus, bytes]:
        """The mute status for a recorded reason, and its ``status`` field as JSON."""
        found = self._statuses.get(reason)
        if found is None:
            status = mute_status(reason, self.rules.silences)
            shown = {
                "state": status.state,
                "silencedBy": list(status.silenced_by),
                "inhibitedBy": list(status.inhibited_by),
            }
            found = self._statuses[reason] = (status, orjson.dumps(shown))
        return found

    def _end(self, ends_at: int | None, updated: int) -> bytes:
        if ends_at is not None:
            return _instant(ends_at)
        if self._resolve_timeout > timedelta(0):
            return orjson.dumps(format_rfc3339(from_micros(updated) + self._resolve_timeout))
        return _NO_END


def _instant_text(value: int) -> bytes:
    """An instant stored in microseconds, as a JSON string in RFC 3339."""
    return orjson.dumps(format_rfc3339(from_micros(value)))


# Alerts share most instants (a storm's start, a resend's time): each is converted once.
_instant = Memo(_instant_text, size=65_536).__getitem__


def group_labels(incident: Incident, labels: Sequence[bytes], rules: Rules) -> dict[str, str]:
    """The labels that make the incident's group, as Alertmanager shows a group's labels.

    ``labels`` are its alerts' label sets as JSON text (``StoredAlert.labels``). Those of
    its route's ``group_by``; an alert that is an incident of its own shows all its
    labels; if a reload removed the route, the labels all its alerts share.
    """
    if not labels:
        return {}
    first = decode_labels(labels[0])
    route = find_route(rules.route, incident.route) if incident.route else None
    if route is not None:
        return first if route.groups_by_identity(first) else route.group_labels(first)
    shared = first
    for text in labels[1:]:
        other = decode_labels(text)
        shared = {k: v for k, v in shared.items() if other.get(k) == v}
    return shared
