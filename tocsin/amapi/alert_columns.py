"""The firing alerts of one version of an incident, rendered, held as columns.

One list per field (fingerprint, JSON object, labels, mute reason...) rather than one
object per alert: 100,000 held alerts are then a few lists of strings, bytes and ints,
none of which the cyclic garbage collector tracks. As 100,000 tuples they were young
containers that the collector walked in one pass of 50 to 100 ms, holding the event
loop (Tocsin collects the young generation every 200,000 new containers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.incident import Incident
from tocsin.amapi.alert_view import AlertRenderer


class AlertColumns:
    """Firing alerts by fingerprint: their JSON objects, what filters read, their stamps."""

    __slots__ = (
        "_ends",
        "_positions",
        "_received",
        "bodies",
        "fingerprints",
        "labels",
        "last_seen",
        "muted_by",
    )

    def __init__(self) -> None:
        self.fingerprints: list[str] = []
        self.bodies: list[bytes] = []  # whole JSON objects, with the incident's receiver
        self.labels: list[Mapping[str, str]] = []  # the documents' own: no copy
        self.muted_by: list[str | None] = []
        # Microseconds; of an alert in several incidents, the copy seen last is shown.
        self.last_seen: list[int] = []
        self._positions: list[Any] = []
        self._ends: list[int | None] = []
        self._received: list[int | None] = []

    def __len__(self) -> int:
        return len(self.fingerprints)

    def unchanged(self, row: int, document: Mapping[str, Any]) -> bool:
        """Tells whether ``document`` is the version of the alert that ``row`` rendered.

        Every report applied moves ``position`` and ``last_seen``; a mute that follows
        its cause changes ``muted_by``; a resend's later end moves ``ends_at``.
        """
        return (
            self._positions[row] == document["position"]
            and self.last_seen[row] == document["last_seen"]
            and self.muted_by[row] == document.get("muted_by")
            and self._ends[row] == document.get("ends_at")
            and self._received[row] == document.get("last_received_at")
        )

    def columns(self) -> tuple[list[Any], ...]:
        """Its lists, one per field, row by row."""
        return (
            self.fingerprints,
            self.bodies,
            self.labels,
            self.muted_by,
            self.last_seen,
            self._positions,
            self._ends,
            self._received,
        )

    def put(self, row: int | None, body: bytes, document: Mapping[str, Any]) -> int:
        """Writes the alert at ``row``, or at the end if None; returns its row."""
        if row is None:
            # Once per alert of a cold read: appended one by one, the cheapest way.
            self.fingerprints.append(document["fingerprint"])
            self.bodies.append(body)
            self.labels.append(document["labels"])
            self.muted_by.append(document.get("muted_by"))
            self.last_seen.append(document["last_seen"])
            self._positions.append(document["position"])
            self._ends.append(document.get("ends_at"))
            self._received.append(document.get("last_received_at"))
            return len(self.fingerprints) - 1
        values = (
            document["fingerprint"],
            body,
            document["labels"],
            document.get("muted_by"),
            document["last_seen"],
            document["position"],
            document.get("ends_at"),
            document.get("last_received_at"),
        )
        for column, value in zip(self.columns(), values, strict=True):
            column[row] = value
        return row

    def by_fingerprint(self, dropped: set[int]) -> AlertColumns:
        """The rows but ``dropped``, by fingerprint."""
        rows = range(len(self))
        kept = rows if not dropped else (r for r in rows if r not in dropped)
        order = sorted(kept, key=self.fingerprints.__getitem__)
        result = AlertColumns()
        for mine, theirs in zip(self.columns(), result.columns(), strict=True):
            theirs.extend(map(mine.__getitem__, order))
        return result


def render_columns(
    renderer: AlertRenderer,
    receivers: tuple[str, ...],
    documents: Iterable[Mapping[str, Any]],
    prior: AlertColumns | None,
) -> AlertColumns:
    """The firing alerts among ``documents``, rendered with ``receivers``, by fingerprint.

    A later document for a fingerprint replaces an earlier one. The alerts of ``prior``
    (the incident's previous version, rendered with the same receivers) whose document
    did not change since are kept, not rendered again: a storm incident that grows by a
    few hundred alerts a step holds 100,000 that did not change. ``documents`` are read
    one by one and not kept: only the rendered columns stay.
    """
    known = {} if prior is None else {f: r for r, f in enumerate(prior.fingerprints)}
    columns = AlertColumns()
    rows: dict[str, int] = {}
    dropped: set[int] = set()  # rows whose alert a later document resolved
    for document in documents:
        fingerprint = document["fingerprint"]
        row = rows.get(fingerprint)
        if document["status"] != "firing":
            if row is not None:
                dropped.add(row)
            continue
        old = known.get(fingerprint)
        if prior is not None and old is not None and prior.unchanged(old, document):
            body = prior.bodies[old]
        else:
            body = renderer.render(fingerprint, document, receivers)
        if row is None:
            rows[fingerprint] = columns.put(None, body, document)
        else:
            columns.put(row, body, document)
            dropped.discard(row)
    return columns.by_fingerprint(dropped)


@dataclass(frozen=True, slots=True)
class HeldIncident:
    """One version of an open incident, its receiver, its firing alerts rendered."""

    incident: Incident
    receiver: str
    alerts: AlertColumns
