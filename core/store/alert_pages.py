"""Choosing a page of an incident's alerts from its documents, one batch at a time.

A storm incident held 570,000 alerts; a detail page of one of them decoded all of them
into objects (15 s, and gigabytes with four at once). The stores now feed the alert
documents (``core.codec``'s dicts), a batch at a time and in the order they were
written, to a :class:`PageCollector`, which keeps only the page's documents: the
smallest fingerprints after the cursor, a later document for a fingerprint replacing an
earlier one. Only those few become ``IncidentAlert`` objects. Memory is one batch and
one page, whatever the incident's size.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson

from core.codec import decode_alert
from core.model import AlertStatus
from core.store import AlertPage

_FIRING = AlertStatus.FIRING.value


class PageCollector:
    """Keeps the first ``limit`` (+1, to know of more) fingerprints after ``after``."""

    def __init__(self, after: str, limit: int, named: Collection[str] = ()) -> None:
        self._after = after
        self._keep = limit + 1
        self._limit = limit
        self._order: list[str] = []  # sorted; at most limit + 1
        self._chosen: dict[str, dict[str, Any]] = {}
        self._wanted = frozenset(named)
        self._named: dict[str, dict[str, Any]] = {}

    def add(self, documents: Iterable[dict[str, Any]]) -> None:
        """Takes the next documents, in the order they were written."""
        after, order, chosen, wanted = self._after, self._order, self._chosen, self._wanted
        for document in documents:
            fingerprint = document["fingerprint"]
            if wanted and fingerprint in wanted:
                self._named[fingerprint] = document
            if fingerprint in chosen:
                chosen[fingerprint] = document  # a later document of a page alert
            elif fingerprint > after and (len(order) < self._keep or fingerprint < order[-1]):
                # Once evicted, a fingerprint is never taken back: the page's last one only
                # decreases, and it was above it.
                bisect.insort(order, fingerprint)
                chosen[fingerprint] = document
                if len(order) > self._keep:
                    del chosen[order.pop()]

    def page(self) -> AlertPage:
        """The page: its alerts decoded, whether more follow, and the named ones found."""
        shown = self._order[: self._limit]
        return AlertPage(
            alerts=[_decoded(self._chosen[f]) for f in shown],
            more=len(self._order) > self._limit,
            named={f: _decoded(d) for f, d in self._named.items()},
        )


def _decoded(document: dict[str, Any]) -> Any:
    # The codec reads alerts from bytes; a page is a few hundred documents at most.
    return decode_alert(orjson.dumps(document))


def count_statuses(statuses: Mapping[str, str]) -> tuple[int, int]:
    """The alerts and the firing ones, from each alert's status by fingerprint."""
    return len(statuses), sum(1 for status in statuses.values() if status == _FIRING)
