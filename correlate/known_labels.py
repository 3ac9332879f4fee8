"""Gives events that name their alert by dedup key alone the labels of that alert.

PagerDuty's ``acknowledge`` and ``resolve``, and a webhook resolve that only repeats the
``dedup_key``, carry no labels. Routed by empty labels they would land on another route,
and so in another group, than the trigger they are about, and act on nothing. Their
fingerprint is the hash of the dedup key, like the trigger's, so the labels the trigger
carried are found by it: remembered as labelled alerts with a dedup key pass through the
log, else (after a restart, a full memory, or when another replica correlated the
trigger) read from the open incidents, at most once per ``_RESCAN`` for the same misses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from core.clock import Clock
from core.incident import OPEN_STATES
from core.model import LogEntry, new_log_entry
from core.store import IncidentQuery, IncidentStore
from correlate.firing import OPEN_SCAN_LIMIT

# A labelless event whose alert is not found is looked for again only after this: a flood
# of resolves for keys nobody triggered must not read every open incident each step.
_RESCAN = timedelta(seconds=10)


class KnownLabels:
    """Remembers the labels of alerts that have a dedup key, up to ``capacity`` of them."""

    def __init__(self, store: IncidentStore, clock: Clock, capacity: int = 100_000) -> None:
        self._store = store
        self._clock = clock
        self._capacity = capacity
        self._labels: dict[str, Mapping[str, str]] = {}
        # fingerprint -> when the open incidents were last searched for it in vain
        self._absent: dict[str, datetime] = {}

    async def fill(self, entries: list[LogEntry]) -> list[LogEntry]:
        """Returns the entries, those naming their alert by key alone with its labels."""
        missing: set[str] = set()
        labelless = False
        for entry in entries:
            alert = entry.alert
            if alert.dedup_key is None:
                continue  # Prometheus and Alertmanager alerts: labels always
            if alert.labels:
                self._remember(alert.fingerprint, alert.labels)
                continue
            labelless = True
            if alert.fingerprint not in self._labels:
                missing.add(alert.fingerprint)
        if not labelless:
            return entries
        if missing:
            await self._look_up(missing)
        return [self._filled(entry) for entry in entries]

    def _filled(self, entry: LogEntry) -> LogEntry:
        alert = entry.alert
        if alert.labels or alert.dedup_key is None:
            return entry
        labels = self._labels.get(alert.fingerprint)
        if labels is None:
            return entry  # about an alert nobody knows: it acts on nothing, as before
        return new_log_entry(entry.cursor, replace(alert, labels=labels))

    async def _look_up(self, fingerprints: set[str]) -> None:
        now = self._clock.now()
        wanted = {
            f for f in fingerprints if (t := self._absent.get(f)) is None or now - t >= _RESCAN
        }
        if not wanted:
            return
        incidents = await self._store.list_incidents(
            IncidentQuery(states=OPEN_STATES, limit=OPEN_SCAN_LIMIT)
        )
        for incident in incidents:
            for fingerprint in wanted & incident.alerts.keys():
                labels = incident.alerts[fingerprint].labels
                if labels:
                    self._remember(fingerprint, labels)
        if len(self._absent) >= self._capacity:
            self._absent.clear()
        for fingerprint in wanted - self._labels.keys():
            self._absent[fingerprint] = now

    def _remember(self, fingerprint: str, labels: Mapping[str, str]) -> None:
        if fingerprint not in self._labels and len(self._labels) >= self._capacity:
            self._labels.clear()  # as the route memo: cheaper than an eviction order
        self._labels[fingerprint] = labels
