"""Recognises unchanged duplicates in memory, so the bulk of real traffic is not written again.

Prometheus resends every firing alert each minute and Alertmanager sends the whole group
each time; nearly all of it repeats what is already in the alert log. An alert is an
unchanged duplicate when its version (status, start, labels, annotations, link,
acknowledgement, and the end of a resolved alert) matches the last version written for
its fingerprint and no freshness refresh is due. A refresh is due after ``refresh``
seconds, or sooner, three quarters of the way to the written ``ends_at`` (one write
in three Prometheus resends, whose ``endsAt`` is four resends ahead), so the log never
shows a firing alert as expired while its sender still reports it.

A duplicate of a version whose write is still in flight is not acknowledged before that
write is durable: the caller gets the pending write to wait for.

Memory: each remembered alert costs one small tuple of two numbers (a 64-bit version
hash and the refresh time), which the garbage collector stops tracking, so a million
remembered alerts neither cost a gigabyte nor slow every collection.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime, timedelta

from core.model import Alert, AlertStatus

# How far towards a firing alert's written end its refresh falls due.
_REFRESH_FRACTION = 0.75


def version_of(alert: Alert) -> int:
    """Returns a hash of everything that makes an alert a new version for the log.

    A firing alert's ``ends_at`` moves on every Prometheus resend and is handled by the
    refresh, so it is not part of the version; a resolved alert's end is.
    """
    ends = alert.ends_at if alert.status is AlertStatus.RESOLVED else None
    return hash(
        (
            alert.status,
            alert.starts_at,
            ends,
            alert.acknowledged,
            alert.generator_url,
            tuple(alert.labels.items()),
            tuple(alert.annotations.items()),
        )
    )


class DuplicateFilter:
    """Remembers the last written version of each alert, at most ``capacity`` of them."""

    def __init__(self, refresh: timedelta, capacity: int) -> None:
        self._refresh = refresh.total_seconds()
        self._capacity = capacity
        # fingerprint -> (version hash, refresh due as Unix seconds)
        self._written: OrderedDict[str, tuple[int, float]] = OrderedDict()
        # fingerprint -> the write in flight for its last version
        self._in_flight: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._written)

    def check(self, alert: Alert, now: datetime) -> asyncio.Future[None] | bool:
        """Says whether ``alert`` must be written.

        Returns True if it must be written, False if it is an unchanged duplicate of a
        durable version, or the in-flight write a duplicate must wait for.
        """
        last = self._written.get(alert.fingerprint)
        if last is None or now.timestamp() >= last[1] or last[0] != version_of(alert):
            return True
        pending = self._in_flight.get(alert.fingerprint)
        if pending is None:
            return False
        if pending.done() and pending.exception() is not None:
            return True
        return pending

    def remember(self, alerts: list[Alert], now: datetime, durable: asyncio.Future[None]) -> None:
        """Records alerts that are being written; ``durable`` resolves when the write commits."""
        written = self._written
        in_flight = self._in_flight
        now_ts = now.timestamp()
        for alert in alerts:
            fingerprint = alert.fingerprint
            written.pop(fingerprint, None)
            written[fingerprint] = (version_of(alert), self._refresh_due(alert, now_ts))
            in_flight[fingerprint] = durable
        while len(written) > self._capacity:
            fingerprint, _ = written.popitem(last=False)
            in_flight.pop(fingerprint, None)

    def settled(self, alerts: list[Alert], durable: asyncio.Future[None]) -> None:
        """Forgets the in-flight write of alerts once it committed."""
        for alert in alerts:
            if self._in_flight.get(alert.fingerprint) is durable:
                del self._in_flight[alert.fingerprint]

    def forget(self, alerts: list[Alert], durable: asyncio.Future[None]) -> None:
        """Drops alerts whose write ``durable`` failed, so their next copy is written again."""
        for alert in alerts:
            if self._in_flight.get(alert.fingerprint) is durable:
                del self._in_flight[alert.fingerprint]
                self._written.pop(alert.fingerprint, None)

    def _refresh_due(self, alert: Alert, now_ts: float) -> float:
        due = now_ts + self._refresh
        if alert.ends_at is not None:
            ends_ts = alert.ends_at.timestamp()
            if ends_ts > now_ts:
                due = min(due, now_ts + (ends_ts - now_ts) * _REFRESH_FRACTION)
        return due
