"""Recognises unchanged duplicates in memory, so the bulk of real traffic is not written again.

Prometheus resends every firing alert each minute and Alertmanager sends the whole group
each time; nearly all of it repeats what is already in the alert log. An alert is an
unchanged duplicate when its version (status, start, labels, annotations, link,
acknowledgement, and the end of a resolved alert) matches the last version written for
its fingerprint and no freshness refresh is due. A refresh is due after ``refresh``
seconds, or sooner, three quarters of the way to the written ``ends_at`` (one write
in three Prometheus resends, whose ``endsAt`` is four resends ahead).

A duplicate is not written to the log, but the later ``endsAt`` it carries counts: the
filter remembers the latest end recorded for each alert, and :meth:`DuplicateFilter.triage`
lists the duplicates whose end moved later, which ingest records beside the log
(``core.store.AlertEnds``, one small upsert per alert and resend). The correlator expires
an alert only once the latest end its sender sent has passed.

An alert without a start time of its own (the webhook and ``/api/v2/alerts`` give it its
receipt time, or its end) that repeats a firing alert the filter knows keeps that alert's
start, as Alertmanager merges it, so that its resends are duplicates too.

A duplicate of a version whose write is still in flight is not acknowledged before that
write is durable: the caller gets the pending write to wait for.

Memory: each remembered alert costs one small struct (a version hash, the refresh time,
the end recorded and the start of a firing version, both shared with the alert they
came from) that the cyclic garbage collector never tracks: it holds no container, so it
can be in no cycle. A million remembered alerts neither cost a gigabyte nor slow a
collection. (Tuples, as before, are tracked until a collection first looks at them: after
100,000 new alerts that first pass walked 100,000 of them, 26 ms with the GIL held, on
whichever thread allocated next, an API read holding the event loop.)
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import msgspec

from core.model import Alert, AlertStatus

# How far towards a firing alert's written end its refresh falls due.
_REFRESH_FRACTION = 0.75
_FIRING = AlertStatus.FIRING


class _Known(msgspec.Struct, gc=False):
    """The last written version of one alert, never tracked by the cyclic collector."""

    version: int  # version_of the written alert
    due: float  # its refresh falls due, as Unix seconds
    # The latest end recorded, kept as the alert's own instant: comparing two is cheaper
    # than converting each duplicate's end to seconds. None if it was not firing.
    end: datetime | None
    start: datetime | None  # the written version's start if it was firing


def version_of(alert: Alert) -> int:
    """Returns a hash of everything that makes an alert a new version for the log.

    A firing alert's ``ends_at`` moves on every Prometheus resend and is recorded apart
    (AlertEnds), so it is not part of the version; a resolved alert's end is.
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


def has_no_start(alert: Alert) -> bool:
    """Tells whether the sender gave no start: the decoders then use the receipt or the end."""
    return alert.starts_at == alert.received_at or alert.starts_at == alert.ends_at


@dataclass(slots=True)
class Triage:
    """What a request's alerts need: writing, waiting for a write, or a later end recorded."""

    # In the request's order; a start-less copy of a known firing alert carries its start.
    to_write: list[Alert] = field(default_factory=list)
    # Writes in flight, of versions that some alerts repeat.
    pending: set[asyncio.Future[None]] = field(default_factory=set)
    # The later ends of duplicates, to record beside the log (AlertEnds).
    ends: dict[str, datetime] = field(default_factory=dict)
    duplicates: int = 0


class DuplicateFilter:
    """Remembers the last written version of each alert, at most ``capacity`` of them."""

    def __init__(self, refresh: timedelta, capacity: int) -> None:
        self._refresh = refresh.total_seconds()
        self._capacity = capacity
        self._written: OrderedDict[str, _Known] = OrderedDict()
        # fingerprint -> the write in flight for its last version
        self._in_flight: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._written)

    def triage(self, alerts: Sequence[Alert], now: datetime) -> Triage:
        """Sorts a request's alerts: those to write, the writes to wait for, the ends to record."""
        result = Triage()
        now_ts = now.timestamp()
        written = self._written
        for alert in alerts:
            last = written.get(alert.fingerprint)
            if last is None:
                result.to_write.append(alert)
                continue
            start = last.start
            if (
                start is not None
                and alert.status is _FIRING
                and alert.starts_at != start
                and has_no_start(alert)
            ):
                alert = replace(alert, starts_at=start)
            if now_ts >= last.due or last.version != version_of(alert):
                result.to_write.append(alert)
                continue
            pending = self._in_flight.get(alert.fingerprint)
            if pending is not None:
                if pending.done() and pending.exception() is not None:
                    result.to_write.append(alert)
                    continue
                if not pending.done():
                    result.pending.add(pending)
            result.duplicates += 1
            ends = alert.ends_at
            end = last.end
            if alert.status is _FIRING and ends is not None and (end is None or ends > end):
                known = result.ends.get(alert.fingerprint)
                if known is None or ends > known:
                    result.ends[alert.fingerprint] = ends
        return result

    def check(self, alert: Alert, now: datetime) -> asyncio.Future[None] | bool:
        """Says whether ``alert`` alone must be written (see :meth:`triage`).

        Returns True if it must be written, False if it is an unchanged duplicate of a
        durable version, or the in-flight write a duplicate must wait for.
        """
        triage = self.triage([alert], now)
        if triage.to_write:
            return True
        return next(iter(triage.pending)) if triage.pending else False

    def remember(self, alerts: list[Alert], now: datetime, durable: asyncio.Future[None]) -> None:
        """Records alerts that are being written; ``durable`` resolves when the write commits."""
        written = self._written
        in_flight = self._in_flight
        now_ts = now.timestamp()
        for alert in alerts:
            fingerprint = alert.fingerprint
            written.pop(fingerprint, None)
            firing = alert.status is _FIRING
            ends = alert.ends_at
            written[fingerprint] = _Known(
                version_of(alert),
                self._refresh_due(alert, now_ts),
                ends if firing else None,
                alert.starts_at if firing else None,
            )
            in_flight[fingerprint] = durable
        while len(written) > self._capacity:
            fingerprint, _ = written.popitem(last=False)
            in_flight.pop(fingerprint, None)

    def extended(self, ends: Mapping[str, datetime]) -> None:
        """Records that later ends were made durable (AlertEnds), so they are not sent again."""
        written = self._written
        for fingerprint, end in ends.items():
            last = written.get(fingerprint)
            if last is not None and (last.end is None or end > last.end):
                # In place: recording an end does not make the alert recently written.
                written[fingerprint] = _Known(last.version, last.due, end, last.start)

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

    def clear(self) -> None:
        """Forgets every alert: the store may have lost what was written (its identity changed).

        Writes in flight keep their waiters; only what the filter remembers goes.
        """
        self._written.clear()
        self._in_flight.clear()

    def _refresh_due(self, alert: Alert, now_ts: float) -> float:
        due = now_ts + self._refresh
        if alert.ends_at is not None:
            ends_ts = alert.ends_at.timestamp()
            if ends_ts > now_ts:
                due = min(due, now_ts + (ends_ts - now_ts) * _REFRESH_FRACTION)
        return due
