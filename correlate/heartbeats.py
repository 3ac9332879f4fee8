"""Heartbeats (dead man's switches): an overdue ping becomes a firing alert in the log."""

from __future__ import annotations

from datetime import datetime

import structlog

from core.fingerprint import labels_fingerprint
from core.model import Alert, AlertStatus
from core.store import Store
from core.timestamps import format_rfc3339, from_micros, micros
from rules.model import Rules

log = structlog.get_logger("tocsin.correlate")


async def log_missing_heartbeats(store: Store, rules: Rules, now: datetime) -> None:
    """Logs a firing alert for every heartbeat whose ping is overdue.

    The alert goes through the log like any other, so the missing heartbeat opens an
    incident through routing and categorisation; the next ping (``POST
    /ingest/heartbeat/NAME``) logs the matching resolve. A heartbeat never pinged is
    given its interval from the moment Tocsin first knew of it; one whose alert already
    fires in an open incident is not logged again.
    """
    missing: list[Alert] = []
    for heartbeat in rules.heartbeats:
        key = heartbeat.cursor
        last = await store.load_cursor(key)
        if last is None:
            await store.save_cursor(key, str(micros(now)))
            continue
        last_ping = from_micros(int(last))
        if now - last_ping <= heartbeat.interval:
            continue
        labels = heartbeat.alert_labels()
        fingerprint = labels_fingerprint(labels)
        route = rules.route_for(labels)[0]
        head = await store.incident_for_group(route.group_key(labels))
        known = None if head is None or not head.is_open else head.alerts.get(fingerprint)
        if known is not None and known.status is AlertStatus.FIRING:
            continue
        missing.append(
            Alert(
                source="tocsin",
                fingerprint=fingerprint,
                labels=labels,
                annotations={"summary": heartbeat.summary, "last_ping": format_rfc3339(last_ping)},
                status=AlertStatus.FIRING,
                starts_at=last_ping + heartbeat.interval,
                ends_at=None,
                generator_url="",
                received_at=now,
            )
        )
    if missing:
        await store.append(missing)
        log.warning("heartbeats missing", heartbeats=[a.labels["heartbeat"] for a in missing])
