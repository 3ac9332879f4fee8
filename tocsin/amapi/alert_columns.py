"""The firing alerts of one version of an incident, rendered, held as columns.

One list per field (fingerprint, JSON object, labels, mute reason...) rather than one
object per alert: 100,000 held alerts are then a few lists of strings, bytes and ints,
none of which the cyclic garbage collector tracks. As 100,000 tuples they were young
containers that the collector walked in one pass of 50 to 100 ms, holding the event
loop (Tocsin collects the young generation every 200,000 new containers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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

    def extend(
        self, fingerprints: list[str], bodies: list[bytes], documents: Sequence[Mapping[str, Any]]
    ) -> None:
        """Appends new alerts, column by column (a cold read's way: cheaper than by row)."""
        self.fingerprints.extend(fingerprints)
        self.bodies.extend(bodies)
        self.labels.extend([d["labels"] for d in documents])
        self.muted_by.extend([d.get("muted_by") for d in documents])
        self.last_seen.extend([d["last_seen"] for d in documents])
        self._positions.extend([d["position"] for d in documents])
        self._ends.extend([d.get("ends_at") for d in documents])
        self._received.extend([d.get("last_received_at") for d in documents])

    def put(self, row: int | None, body: bytes, document: Mapping[str, Any]) -> int:
        """Writes the alert at ``row``, or at the end if None; returns its row."""
        if row is None:
            self.extend([document["fingerprint"]], [body], [document])
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
    batches: Iterable[Sequence[Mapping[str, Any]]],
    prior: AlertColumns | None,
) -> AlertColumns:
    """The firing alerts among the documents, rendered with ``receivers``, by fingerprint.

    The documents come in batches, as stored, each batch read and let go in turn: only
    the rendered columns stay. A later document for a fingerprint replaces an earlier
    one. The alerts of ``prior`` (the incident's previous version, rendered with the
    same receivers) whose document did not change since are kept, not rendered again:
    a storm incident that grows by a few hundred alerts a step holds 100,000 that did
    not change.
    """
    known = {} if prior is None else {f: r for r, f in enumerate(prior.fingerprints)}
    columns = AlertColumns()
    rows: dict[str, int] = {}
    dropped: set[int] = set()  # rows whose alert a later document resolved
    for batch in batches:
        fingerprints = [d["fingerprint"] for d in batch]
        if prior is None and _all_new_and_firing(batch, fingerprints, rows):
            # A cold read's usual batch: rendered and appended column by column.
            start = len(columns)
            bodies = [
                renderer.render(f, d, receivers) for f, d in zip(fingerprints, batch, strict=True)
            ]
            columns.extend(fingerprints, bodies, batch)
            rows.update(zip(fingerprints, range(start, start + len(batch)), strict=True))
        else:
            _render_each(renderer, receivers, batch, prior, known, columns, rows, dropped)
    return columns.by_fingerprint(dropped)


def _all_new_and_firing(
    batch: Sequence[Mapping[str, Any]], fingerprints: list[str], rows: Mapping[str, int]
) -> bool:
    """Tells whether every document of the batch is a firing alert met for the first time."""
    return (
        all(d["status"] == "firing" for d in batch)
        and len(set(fingerprints)) == len(fingerprints)
        and rows.keys().isdisjoint(fingerprints)
    )


def _render_each(
    renderer: AlertRenderer,
    receivers: tuple[str, ...],
    batch: Sequence[Mapping[str, Any]],
    prior: AlertColumns | None,
    known: Mapping[str, int],
    columns: AlertColumns,
    rows: dict[str, int],
    dropped: set[int],
) -> None:
    """Takes the batch's documents one by one: resolutions, repeats, unchanged alerts."""
    for document in batch:
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


@dataclass(frozen=True, slots=True)
class HeldIncident:
    """One version of an open incident, its receiver, its firing alerts rendered."""

    incident: Incident
    receiver: str
    alerts: AlertColumns
