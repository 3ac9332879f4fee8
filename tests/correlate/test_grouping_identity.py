"""Issue 9 item 4: alerts never share an incident just because they lack the same labels.

PagerDuty and webhook alerts (no ``alertname``) group by the route's ``group_by`` labels
only when they carry all of them; otherwise each is an incident of its own, keyed by its
fingerprint (its dedup key's, or its labels' without one). Incidents are titled from the
first alert's summary when it has no alertname, and a more urgent alert that joins
raises the incident's urgency and priority.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.model import Alert, AlertStatus
from core.store.sqlite import SQLiteStore
from ingest.decode.pagerduty import decode_pagerduty
from ingest.decode.webhook import decode_webhook
from tests.correlate.harness import RULES, T0, Harness, alert, load_test_rules, make_harness


def pagerduty(summary: str, source: str, dedup_key: str, action: str = "trigger") -> Alert:
    """A PagerDuty Events v2 event as ingest decodes it."""
    body: dict[str, Any] = {"routing_key": "k" * 32, "event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        body["payload"] = {"summary": summary, "source": source, "severity": "critical"}
    decoded = decode_pagerduty(body, "pd", T0)
    assert not decoded.problems, decoded.problems
    (only,) = decoded.alerts
    return only


def webhook(**item: Any) -> Alert:
    """A generic webhook alert as ingest decodes it."""
    decoded = decode_webhook(item, "hooks", T0)
    assert not decoded.problems, decoded.problems
    (only,) = decoded.alerts
    return only


async def test_unrelated_pagerduty_triggers_are_two_incidents(harness: Harness) -> None:
    # The case: the root route groups by [alertname, service]; neither carries any.
    await harness.send(
        pagerduty("DB latency high", "db1", "db1-latency"),
        pagerduty("Queue consumer dead", "mq1", "mq1-consumer"),
    )
    incidents = await harness.incidents()
    assert sorted(i.title for i in incidents) == ["DB latency high", "Queue consumer dead"]
    assert [len(i.alerts) for i in incidents] == [1, 1]
    assert all(i.group_key.startswith("{}:fingerprint:") for i in incidents)
    assert incidents[0].group_key != incidents[1].group_key


async def test_a_pagerduty_resolve_finds_its_trigger_by_dedup_key(harness: Harness) -> None:
    await harness.send(pagerduty("DB latency high", "db1", "db1-latency"))
    await harness.send(pagerduty("", "", "db1-latency", action="resolve"))
    incident = await harness.only_incident()
    assert not incident.is_open
    # A new trigger with another dedup key from the same host is another incident.
    await harness.send(pagerduty("DB latency high", "db1", "db1-latency-2"))
    assert len(await harness.incidents()) == 2


@pytest.mark.parametrize(
    ("items", "incidents"),
    [
        # Different dedup keys, same labels: two problems.
        (
            [
                {
                    "dedup_key": "backup-db1",
                    "summary": "Backup failed",
                    "labels": {"service": "db"},
                },
                {
                    "dedup_key": "repl-db1",
                    "summary": "Replication broken",
                    "labels": {"service": "db"},
                },
            ],
            2,
        ),
        # One dedup key sent twice: one alert, one incident.
        (
            [
                {"dedup_key": "backup-db1", "summary": "Backup failed"},
                {"dedup_key": "backup-db1", "summary": "Backup failed again"},
            ],
            1,
        ),
        # No dedup key: the labels identify each alert, and differ.
        (
            [
                {"summary": "Backup failed", "labels": {"job": "backup", "host": "db1"}},
                {"summary": "Backup failed", "labels": {"job": "backup", "host": "db2"}},
            ],
            2,
        ),
        # With an alertname, webhook alerts group as Prometheus alerts do (the db route
        # groups by alertname): one incident.
        (
            [
                {
                    "summary": "Disk full",
                    "labels": {"alertname": "DiskFull", "service": "db", "host": "db1"},
                },
                {
                    "summary": "Disk full",
                    "labels": {"alertname": "DiskFull", "service": "db", "host": "db2"},
                },
            ],
            1,
        ),
    ],
)
async def test_webhook_alerts_group_by_their_identity(
    harness: Harness, items: list[dict[str, Any]], incidents: int
) -> None:
    for item in items:
        await harness.send(webhook(**item))
    assert len(await harness.incidents()) == incidents


async def test_alerts_carrying_every_group_by_label_group_by_them(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    # A route for PagerDuty events grouping by their PD-CEF `group` field.
    rules = RULES.replace(
        "  routes:\n",
        "  routes:\n"
        "    - name: pagerduty\n"
        "      matchers: ['group=~\".+\"']\n"
        "      group_by: [group]\n",
    )
    harness = make_harness(sqlite_store, load_test_rules(tmp_path, rules))
    events = [
        {"summary": "DB latency high", "source": "db1", "severity": "error", "group": "prod-db"},
        {"summary": "DB replica lag", "source": "db2", "severity": "error", "group": "prod-db"},
    ]
    for n, payload in enumerate(events):
        body = {"routing_key": "k" * 32, "event_action": "trigger", "dedup_key": f"k{n}"}
        await harness.send(*decode_pagerduty({**body, "payload": payload}, "pd", T0).alerts)
    incident = await harness.only_incident()
    assert incident.group_key == 'pagerduty:{group="prod-db"}'
    assert len(incident.alerts) == 2
    # Titled from the first alert's summary: neither has an alertname.
    assert incident.title == "DB latency high"


async def test_prometheus_alerts_lacking_a_group_by_label_still_group(harness: Harness) -> None:
    # Alertmanager's semantics for alerts with an alertname: a missing label is empty.
    await harness.send(
        alert(T0, alertname="InstanceDown", instance="a"),
        alert(T0, alertname="InstanceDown", instance="b"),
    )
    incident = await harness.only_incident()
    assert incident.group_key == '{}:{alertname="InstanceDown"}'
    assert len(incident.alerts) == 2


PRIORITY_RULES = RULES.replace(
    "categories:\n",
    "categories:\n"
    "  - name: critical\n"
    "    matchers: ['severity=\"critical\"']\n"
    "    urgency: high\n"
    "    continue: true\n",
)


async def test_a_more_urgent_alert_raises_urgency_and_priority(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = make_harness(sqlite_store, load_test_rules(tmp_path, PRIORITY_RULES))
    # db: impact high; a warning is urgency medium -> P2.
    await harness.send(
        alert(T0, alertname="DiskFull", service="db", instance="db1", severity="warning")
    )
    opened = await harness.only_incident()
    assert (opened.impact, opened.urgency, opened.priority) == (1, 2, "P2")

    harness.advance(minutes=1)
    critical = alert(T0, alertname="DiskFull", service="db", instance="db2", severity="critical")
    await harness.send(critical)
    raised = await harness.only_incident()
    assert (raised.urgency, raised.priority) == (1, "P1")
    events = await harness.store.incident_events(raised.id)
    (event,) = [e for e in events if e.kind == "priority_raised"]
    assert event.detail == {
        "fingerprint": critical.fingerprint,
        "urgency": {"from": "medium", "to": "high"},
        "priority": {"from": "P2", "to": "P1"},
        "decided_by": "categories[0]",
    }

    # The critical alert resolves, another warning joins: nothing lowers it on its own.
    harness.advance(minutes=1)
    await harness.send(
        alert(
            harness.clock.now(),
            AlertStatus.RESOLVED,
            alertname="DiskFull",
            service="db",
            instance="db2",
            severity="critical",
        ),
        alert(
            harness.clock.now(),
            alertname="DiskFull",
            service="db",
            instance="db3",
            severity="warning",
        ),
    )
    after = await harness.only_incident()
    assert (after.urgency, after.priority) == (1, "P1")
    assert [e.kind for e in await harness.store.incident_events(after.id)].count(
        "priority_raised"
    ) == 1


async def test_a_less_urgent_alert_raises_nothing(
    sqlite_store: SQLiteStore, tmp_path: Path
) -> None:
    harness = make_harness(sqlite_store, load_test_rules(tmp_path, PRIORITY_RULES))
    await harness.send(
        alert(T0, alertname="DiskFull", service="db", instance="db1", severity="critical")
    )
    await harness.send(
        alert(T0, alertname="DiskFull", service="db", instance="db2", severity="warning")
    )
    incident = await harness.only_incident()
    assert (incident.urgency, incident.priority) == (1, "P1")
    assert "priority_raised" not in await harness.timeline(incident)
