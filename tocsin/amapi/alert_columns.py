"""The firing alerts of one version of an incident, rendered, held as columns.

One list per field (fingerprint, JSON object, labels, mute reason...) rather than one
object per alert: 100,000 held alerts are then a few lists of strings, bytes and ints,
none of which the cyclic garbage collector tracks. As 100,000 tuples they were young
containers that the collector walked in one pass of 50 to 100 ms, holding the event
loop (Tocsin collects the young generation every 200,000 new containers). Labels are
kept as their stored JSON text, decoded only when a filter reads them (``label_sets``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.incident import Incident
from tocsin.amapi.alert_view import AlertRenderer
from tocsin.amapi.key_order import rows_in_order
from tocsin.amapi.stored_alerts import StoredAlert, decode_labels


class AlertColumns:
    """Firing alerts by fingerprint: their JSON objects, what filters read, their stamps."""

    __slots__ = (
        "_ends",
        "_label_sets",
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
        self.labels: list[bytes] = []  # JSON text, as stored
        self.muted_by: list[str | None] = []
        # Microseconds; of an alert in several incidents, the copy seen last is shown.
        self.last_seen: list[int] = []
        self._positions: list[Any] = []
        self._ends: list[int | None] = []
        self._received: list[int | None] = []
        self._label_sets: list[Mapping[str, str]] | None = None

    def __len__(self) -> int:
        return len(self.fingerprints)

    def label_sets(self) -> Sequence[Mapping[str, str]]:
        """The labels of every row, decoded the first time a filter or a group asks.

        100,000 take some 0.1 s: a request decodes them in a worker thread (``decoded``).
        """
        if self._label_sets is None:
            self._label_sets = list(map(decode_labels, self.labels))
        return self._label_sets

    @property
    def decoded(self) -> bool:
        """Tells whether ``label_sets`` has its label sets already."""
        return self._label_sets is not None

    def unchanged(self, row: int, document: StoredAlert) -> bool:
        """Tells whether ``document`` is the version of the alert that ``row`` rendered.

        Every report applied moves ``position`` and ``last_seen``; a mute that follows
        its cause changes ``muted_by``; a resend's later end moves ``ends_at``.
        """
        return (
            self._positions[row] == document.position
            and self.last_seen[row] == document.last_seen
            and self.muted_by[row] == document.muted_by
            and self._ends[row] == document.ends_at
            and self._received[row] == document.last_received_at
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

    def lists(self) -> list[list[Any]]:
        """Every list it holds: its columns and the label sets if decoded."""
        return [*self.columns(), *([self._label_sets] if self._label_sets is not None else [])]

    def extend(
        self, fingerprints: list[str], bodies: list[bytes], documents: Sequence[StoredAlert]
    ) -> None:
        """Appends new alerts, column by column (a cold read's way: cheaper than by row).

        The labels are copied out of their ``Raw``, which would keep the stored body alive.
        """
        self._label_sets = None
        self.fingerprints.extend(fingerprints)
        self.bodies.extend(bodies)
        self.labels.extend([bytes(d.labels) for d in documents])
        self.muted_by.extend([d.muted_by for d in documents])
        self.last_seen.extend([d.last_seen for d in documents])
        self._positions.extend([d.position for d in documents])
        self._ends.extend([d.ends_at for d in documents])
        self._received.extend([d.last_received_at for d in documents])

    def put(self, row: int | None, body: bytes, document: StoredAlert) -> int:
        """Writes the alert at ``row``, or at the end if None; returns its row."""
        if row is None:
            self.extend([document.fingerprint], [body], [document])
            return len(self.fingerprints) - 1
        values = (
            document.fingerprint,
            body,
            bytes(document.labels),
            document.muted_by,
            document.last_seen,
            document.position,
            document.ends_at,
            document.last_received_at,
        )
        for column, value in zip(self.columns(), values, strict=True):
            column[row] = value
        self._label_sets = None
        return row

    def by_fingerprint(self, dropped: set[int]) -> AlertColumns:
        """The rows but ``dropped``, by fingerprint."""
        rows = range(len(self))
        kept = rows if not dropped else [r for r in rows if r not in dropped]
        order = rows_in_order(self.fingerprints, kept)
        result = AlertColumns()
        for mine, theirs in zip(self.columns(), result.columns(), strict=True):
            theirs.extend(map(mine.__getitem__, order))
        return result


def render_columns(
    renderer: AlertRenderer,
    receivers: tuple[str, ...],
    batches: Iterable[Sequence[StoredAlert]],
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
        fingerprints = [d.fingerprint for d in batch]
        if _all_new_and_firing(batch, fingerprints, rows):
            # The usual batch: rendered (or kept) and appended column by column.
            start = len(columns)
            if prior is None:
                bodies = renderer.render_batch(batch, receivers)
            else:
                bodies = _kept_or_rendered(renderer, receivers, batch, prior, known)
            columns.extend(fingerprints, bodies, batch)
            rows.update(zip(fingerprints, range(start, start + len(batch)), strict=True))
        else:
            _render_each(renderer, receivers, batch, prior, known, columns, rows, dropped)
    return columns.by_fingerprint(dropped)


def _kept_or_rendered(
    renderer: AlertRenderer,
    receivers: tuple[str, ...],
    batch: Sequence[StoredAlert],
    prior: AlertColumns,
    known: Mapping[str, int],
) -> list[bytes]:
    """The batch's alerts: the previous version's JSON where unchanged, else rendered."""
    olds = [known.get(d.fingerprint) for d in batch]
    kept: list[bytes | None] = [
        None if old is None or not prior.unchanged(old, d) else prior.bodies[old]
        for old, d in zip(olds, batch, strict=True)
    ]
    changed = [d for d, body in zip(batch, kept, strict=True) if body is None]
    rendered = iter(renderer.render_batch(changed, receivers))
    return [next(rendered) if body is None else body for body in kept]


def _all_new_and_firing(
    batch: Sequence[StoredAlert], fingerprints: list[str], rows: Mapping[str, int]
) -> bool:
    """Tells whether every document of the batch is a firing alert met for the first time."""
    return (
        all(d.status == "firing" for d in batch)
        and len(set(fingerprints)) == len(fingerprints)
        and rows.keys().isdisjoint(fingerprints)
    )


def _render_each(
    renderer: AlertRenderer,
    receivers: tuple[str, ...],
    batch: Sequence[StoredAlert],
    prior: AlertColumns | None,
    known: Mapping[str, int],
    columns: AlertColumns,
    rows: dict[str, int],
    dropped: set[int],
) -> None:
    """Takes the batch's documents one by one: resolutions, repeats, unchanged alerts."""
    for document in batch:
        fingerprint = document.fingerprint
        row = rows.get(fingerprint)
        if document.status != "firing":
            if row is not None:
                dropped.add(row)
            continue
        old = known.get(fingerprint)
        if prior is not None and old is not None and prior.unchanged(old, document):
            body = prior.bodies[old]
        else:
            body = renderer.render(document, receivers)
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
