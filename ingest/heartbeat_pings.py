"""Records heartbeat pings: from the ping endpoint, and from deliveries of an expected alert.

A ping stores its time under the heartbeat's cursor; the correlator's sweep opens a
``HeartbeatMissing`` incident when the pings stop for longer than the interval. A ping
after such a gap (or the very first one) also logs the resolve of that alert, so the
incident resolves as soon as the pings come back.

A heartbeat may expect an alert instead of (or beside) pings: every delivery of a firing
alert its ``alert.matchers`` select counts, a duplicate included, because the usual dead
man's switch (Prometheus' always-firing ``Watchdog``, sent on by Alertmanager every
``repeat_interval``) repeats the same unchanged alert for ever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import structlog

from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from core.store import CursorStore
from core.timestamps import from_micros, micros
from ingest.service import IngestService
from rules.correlation import Heartbeat

log = structlog.get_logger("tocsin.ingest")

# A heartbeat pinged again within this long, and not overdue, is not written again: a
# burst of matching alerts costs one write, and the interval is never shorter than 1 s.
_COALESCE = timedelta(seconds=1)


class HeartbeatPings:
    """Stores heartbeat pings and logs the resolve of a missing heartbeat's alert."""

    def __init__(self, cursors: CursorStore, service: IngestService) -> None:
        self._cursors = cursors
        self._service = service
        # heartbeat name -> when this process last wrote its ping
        self._written: dict[str, datetime] = {}

    async def record(self, heartbeat: Heartbeat, source: str, now: datetime) -> bool:
        """Stores a ping of ``heartbeat`` at ``now``; True if it came after a gap.

        Durable when it returns: the caller may acknowledge the ping.
        """
        previous = await self._cursors.load_cursor(heartbeat.cursor)
        overdue = previous is None or now - from_micros(int(previous)) > heartbeat.interval
        if overdue:
            labels = heartbeat.alert_labels()
            resolve = Alert(
                source=source,
                fingerprint=labels_fingerprint(labels),
                labels=labels,
                # None of its own: the incident keeps what the HeartbeatMissing alert
                # said (its summary, the last ping before the gap), as for any resolve
                # without annotations (correlate.resolves).
                annotations={},
                status=AlertStatus.RESOLVED,
                starts_at=now,
                ends_at=now,
                generator_url="",
                received_at=now,
            )
            await self._service.store(source, [resolve], now)
        await self._cursors.save_cursor(heartbeat.cursor, str(micros(now)))
        self._written[heartbeat.name] = now
        log.info("heartbeat", heartbeat=heartbeat.name, after_gap=overdue)
        return overdue

    async def take_expected(
        self, heartbeats: Sequence[Heartbeat], source: str, alerts: list[Alert], now: datetime
    ) -> list[Alert]:
        """Records the pings that ``alerts`` carry; returns the alerts left to store.

        Alerts of a heartbeat that consumes them are not returned: the heartbeat took them.
        """
        if not heartbeats:
            return alerts
        pinged: dict[str, Heartbeat] = {}
        left: list[Alert] = []
        for alert in alerts:
            consumed = False
            for heartbeat in _expecting(heartbeats, alert):
                if alert.status is AlertStatus.FIRING:
                    pinged[heartbeat.name] = heartbeat
                consumed = consumed or heartbeat.consume_alerts
            if not consumed:
                left.append(alert)
        for heartbeat in pinged.values():
            last = self._written.get(heartbeat.name)
            if last is None or now - last >= _COALESCE or now < last:
                await self.record(heartbeat, source, now)
        return left


def _expecting(heartbeats: Iterable[Heartbeat], alert: Alert) -> Iterable[Heartbeat]:
    return (h for h in heartbeats if h.expects(alert.labels))
