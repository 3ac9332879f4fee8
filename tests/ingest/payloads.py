"""Payloads captured from Alertmanager 0.25 and Prometheus 2.42 (shared/reference/alertmanager.md)."""

from __future__ import annotations

from typing import Any

DB1 = {"alertname": "DiskFull", "instance": "db1:9100", "service": "db", "severity": "critical"}
DB2 = {"alertname": "DiskFull", "instance": "db2:9100", "service": "db", "severity": "critical"}
DB1_FINGERPRINT = "e5cb976153386091"
DB2_FINGERPRINT = "87f8f93154ff3b2a"


def webhook(alerts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Wraps alerts in a version 4 webhook envelope as Alertmanager 0.25 sends it."""
    body = {
        "receiver": "web\\.hook",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": alerts,
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "service": "db", "severity": "critical"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:19093",
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
    }
    body.update(extra)
    return body


# (a1) two firing alerts, nanosecond startsAt, Go zero endsAt.
A1_FIRING = webhook(
    [
        {
            "status": "firing",
            "labels": DB1,
            "annotations": {
                "runbook_url": "https://runbooks.example/disk",
                "summary": "Disk almost full on db1",
            },
            "startsAt": "2026-11-27T15:09:11.543058134Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph?g0.expr=disk",
            "fingerprint": DB1_FINGERPRINT,
        },
        {
            "status": "firing",
            "labels": DB2,
            "annotations": {"summary": "Disk almost full on db2"},
            "startsAt": "2026-11-27T15:09:11.543058134Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": DB2_FINGERPRINT,
        },
    ]
)

# (a2) db1 resolved (millisecond endsAt) while db2 still fires: envelope status stays "firing".
A2_MIXED = webhook(
    [
        {
            "status": "resolved",
            "labels": DB1,
            "annotations": {
                "runbook_url": "https://runbooks.example/disk",
                "summary": "Disk almost full on db1",
            },
            "startsAt": "2026-11-27T15:09:11.543058134Z",
            "endsAt": "2026-11-27T15:09:19.895Z",
            "generatorURL": "http://prometheus.example/graph?g0.expr=disk",
            "fingerprint": DB1_FINGERPRINT,
        },
        A1_FIRING["alerts"][1],
    ]
)

# (b1) what Prometheus POSTs to /api/v2/alerts: millisecond timestamps, endsAt = send + 4m.
PROMETHEUS_FIRING = [
    {
        "annotations": {"summary": "Demo alert that is always firing (value 1)"},
        "endsAt": "2026-11-27T15:16:03.568Z",
        "startsAt": "2026-11-27T15:11:02.568Z",
        "generatorURL": "http://127.0.0.1:19090/graph?g0.expr=vector%281%29&g0.tab=1",
        "labels": {"alertname": "AlwaysFiring", "env": "lab", "severity": "info", "team": "sre"},
    }
]
ALWAYS_FIRING_FINGERPRINT = "41a9489ef6845166"
