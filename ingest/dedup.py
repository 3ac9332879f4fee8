"""Recognises unchanged duplicates in memory, so the bulk of real traffic is not written again.

Prometheus resends every firing alert each minute and Alertmanager sends the whole group
each time; nearly all of it repeats what is already in the alert log. An alert is an
unchanged duplicate when its status, start, annotations, link and acknowledgement match
the last version written for its fingerprint and no freshness refresh is due. A refresh
is due after ``refresh`` seconds, or sooner, halfway to the written ``ends_at``, so the
log never shows a firing alert as expired while its sender still reports it.

A duplicate of a version whose write is still in flight is not acknowledged before that
write is durable: the caller gets the pending write to wait for.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.model import Alert


@dataclass(slots=True)
class _Written:
    alert: Alert
    refresh_due: datetime
    durable: asyncio.Future[None]


class DuplicateFilter:
    """Remembers the last written version of each alert, at most ``capacity`` of them."""

    def __init__(self, refresh: timedelta, capacity: int) -> None:
        self._refresh = refresh
        self._capacity = capacity
        self._written: OrderedDict[str, _Written] = OrderedDict()

    def __len__(self) -> int:
        return len(self._written)

    def check(self, alert: Alert, now: datetime) -> asyncio.Future[None] | None:
        """Returns the write a duplicate depends on, or None if ``alert`` must be written."""
        last = self._written.get(alert.fingerprint)
        if last is None or now >= last.refresh_due or not _same_version(last.alert, alert):
            return None
        if last.durable.done() and last.durable.exception() is not None:
            return None
        return last.durable

    def remember(self, alerts: list[Alert], now: datetime, durable: asyncio.Future[None]) -> None:
        """Records alerts that are being written; ``durable`` resolves when the write commits."""
        written = self._written
        for alert in alerts:
            written.pop(alert.fingerprint, None)
            written[alert.fingerprint] = _Written(alert, self._refresh_due(alert, now), durable)
        while len(written) > self._capacity:
            written.popitem(last=False)

    def forget(self, alerts: list[Alert], durable: asyncio.Future[None]) -> None:
        """Drops alerts whose write ``durable`` failed, so their next copy is written again."""
        for alert in alerts:
            last = self._written.get(alert.fingerprint)
            if last is not None and last.durable is durable:
                del self._written[alert.fingerprint]

    def _refresh_due(self, alert: Alert, now: datetime) -> datetime:
        due = now + self._refresh
        if alert.ends_at is not None and alert.ends_at > now:
            due = min(due, now + (alert.ends_at - now) / 2)
        return due


def _same_version(old: Alert, new: Alert) -> bool:
    # Labels are covered by the fingerprint; ends_at of a firing alert moves on every
    # Prometheus resend and is handled by the refresh, so it is not compared.
    return (
        old.status is new.status
        and old.starts_at == new.starts_at
        and old.acknowledged == new.acknowledged
        and old.generator_url == new.generator_url
        and old.annotations == new.annotations
        and old.labels == new.labels
        and (old.status is not old.status.RESOLVED or old.ends_at == new.ends_at)
    )
