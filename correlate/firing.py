"""The labels of the alerts firing right now, which inhibition rules test against."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from core.incident import OPEN_STATES, Incident
from core.model import AlertStatus
from core.store import IncidentQuery, IncidentStore
from correlate.inhibit_index import InhibitIndex
from rules.model import Rules
from rules.muting import InhibitRule

# How often the firing alerts of other members' incidents are re-read for inhibition.
_REFRESH_SECONDS = 10.0
# The most open incidents the correlator reads at once (here, and in a full sweep).
OPEN_SCAN_LIMIT = 100_000


class FiringIndex:
    """Fingerprint -> labels of every firing alert of the open incidents the step knows.

    ``inhibition`` indexes them by inhibit rule and equal-label values (inhibit_index).
    """

    def __init__(self, inhibit_rules: tuple[InhibitRule, ...] = ()) -> None:
        self._labels: dict[str, Mapping[str, str]] = {}
        self.inhibition = InhibitIndex(inhibit_rules)
        self._indexed = bool(inhibit_rules)  # without rules, nothing to index (most steps)

    @classmethod
    def of(
        cls, incidents: Iterable[Incident], inhibit_rules: tuple[InhibitRule, ...] = ()
    ) -> FiringIndex:
        """Builds the index from incidents (their firing alerts)."""
        index = cls(inhibit_rules)
        for incident in incidents:
            index.update(incident)
        return index

    def update(self, incident: Incident) -> None:
        """Takes in an incident's alerts as they now stand."""
        for alert in incident.alerts.values():
            self.set(
                alert.fingerprint,
                alert.labels,
                alert.status is AlertStatus.FIRING and incident.is_open,
            )

    def set(self, fingerprint: str, labels: Mapping[str, str], firing: bool) -> None:
        """Takes in one alert's new state."""
        if firing:
            if self._indexed and fingerprint not in self._labels:
                self.inhibition.add(fingerprint, labels)
            self._labels[fingerprint] = labels
        elif self._labels.pop(fingerprint, None) is not None and self._indexed:
            self.inhibition.remove(fingerprint, labels)

    def labels(self, fingerprint: str) -> Mapping[str, str] | None:
        """The labels of the alert if it fires, else None."""
        return self._labels.get(fingerprint)

    def items(self) -> Iterable[tuple[str, Mapping[str, str]]]:
        """Yields (fingerprint, labels) of the firing alerts."""
        return self._labels.items()


class FiringCache:
    """The firing alerts inhibition needs, re-read from the store now and then.

    Only inhibit rules need them. Between refreshes the correlator keeps the index up
    to date with its own changes; other members' changes arrive with the next refresh.
    """

    def __init__(self) -> None:
        self._index: FiringIndex | None = None
        self._expires = 0.0

    async def get(self, store: IncidentStore, rules: Rules) -> FiringIndex:
        """The index to use now (an empty one if no inhibit rule needs it)."""
        if not rules.inhibit_rules:
            return FiringIndex()
        loop = asyncio.get_running_loop()
        if (
            self._index is None
            or loop.time() >= self._expires
            or self._index.inhibition.rules is not rules.inhibit_rules  # a reload
        ):
            open_incidents = await store.list_incidents(
                IncidentQuery(states=OPEN_STATES, limit=OPEN_SCAN_LIMIT)
            )
            self._index = FiringIndex.of(open_incidents, rules.inhibit_rules)
            self._expires = loop.time() + _REFRESH_SECONDS
        return self._index

    def forget(self) -> None:
        """Drops the index (it may hold changes that were not committed): read it again."""
        self._index = None
