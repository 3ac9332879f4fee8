"""Every open alert once, by fingerprint, with the receivers of all its incidents.

Built once per set of incident versions (``open_alerts``) and kept: a poll of 100,000
unchanged open alerts then only joins their JSON objects (or filters them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, pairwise
from typing import Any

from tocsin.amapi.alert_columns import HeldIncident
from tocsin.amapi.alert_view import AlertRenderer
from tocsin.amapi.key_order import runs_in_order
from tocsin.amapi.stored_alerts import decode_labels


@dataclass(frozen=True, slots=True)
class AlertList:
    """Open alerts by fingerprint, each once: its JSON object and what filters read."""

    bodies: Sequence[bytes]
    labels: Sequence[bytes]  # JSON text, as stored
    muted_by: Sequence[str | None]
    receivers: Sequence[tuple[str, ...]]
    # The receivers of the alerts that are part of more than one incident.
    shared: Mapping[str, tuple[str, ...]]
    # The labels decoded, filled the first time a filter reads them (``label_sets``).
    _label_sets: list[Mapping[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.bodies)

    def label_sets(self) -> Sequence[Mapping[str, str]]:
        """The labels of every alert, decoded the first time a filter asks.

        100,000 take some 0.1 s: a request decodes them in a worker thread (``decoded``).
        """
        if len(self._label_sets) != len(self.labels):
            self._label_sets[:] = list(map(decode_labels, self.labels))
        return self._label_sets

    @property
    def decoded(self) -> bool:
        """Tells whether ``label_sets`` has its label sets already."""
        return len(self._label_sets) == len(self.labels)

    def lists(self) -> list[list[Any]]:
        """Its lists (some may be those of an incident's columns)."""
        fields = (self.bodies, self.labels, self.muted_by, self.receivers, self._label_sets)
        return [f for f in fields if isinstance(f, list)]


def merge_alerts(renderer: AlertRenderer, incidents: Sequence[HeldIncident]) -> AlertList:
    """Every alert of the incidents once, by fingerprint, incidents given newest first.

    Of an alert in several incidents, the copy seen last is shown (the newer incident's
    on a tie), with the receivers of every incident, newest first.
    """
    if len(incidents) == 1:
        [only] = incidents
        alerts = only.alerts
        mine = [(only.receiver,)] * len(alerts)
        return AlertList(alerts.bodies, alerts.labels, alerts.muted_by, mine, {})
    fingerprints = list(chain.from_iterable(h.alerts.fingerprints for h in incidents))
    # Each incident's alerts are by fingerprint: runs, merged stably (the copies of one
    # alert stay in the incidents' order) a piece at a time.
    starts = list(accumulate((len(h.alerts) for h in incidents), initial=0))
    order = runs_in_order(fingerprints, [range(a, b) for a, b in pairwise(starts)])
    bodies = list(chain.from_iterable(h.alerts.bodies for h in incidents))
    labels = list(chain.from_iterable(h.alerts.labels for h in incidents))
    muted_by = list(chain.from_iterable(h.alerts.muted_by for h in incidents))
    receivers = list(chain.from_iterable([(h.receiver,)] * len(h.alerts) for h in incidents))
    if len(set(fingerprints)) == len(fingerprints):  # the usual case: no alert shared
        return AlertList(
            list(map(bodies.__getitem__, order)),
            list(map(labels.__getitem__, order)),
            list(map(muted_by.__getitem__, order)),
            list(map(receivers.__getitem__, order)),
            {},
        )
    last_seen = list(chain.from_iterable(h.alerts.last_seen for h in incidents))
    shown: list[int] = []  # the copy shown of each alert
    shown_receivers: list[tuple[str, ...]] = []
    shared: dict[str, tuple[str, ...]] = {}
    for i in order:
        if shown and fingerprints[shown[-1]] == fingerprints[i]:
            if last_seen[i] > last_seen[shown[-1]]:
                shown[-1] = i
            if receivers[i][0] not in shown_receivers[-1]:
                shown_receivers[-1] = (*shown_receivers[-1], *receivers[i])
                shared[fingerprints[i]] = shown_receivers[-1]
            continue
        shown.append(i)
        shown_receivers.append(receivers[i])
    return AlertList(
        [
            renderer.with_receivers(bodies[i], receivers[i], all_of_them)
            for i, all_of_them in zip(shown, shown_receivers, strict=True)
        ],
        [labels[i] for i in shown],
        [muted_by[i] for i in shown],
        shown_receivers,
        shared,
    )
