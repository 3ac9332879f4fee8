"""An alert reads back from the alert log exactly as it was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.model import Alert, AlertStatus

T0 = datetime(2026, 11, 24, 10, 0, 0, 123_456, tzinfo=UTC)

CASES = [
    # A Prometheus alert: firing, with an end it will be refreshed before.
    Alert(
        source="prometheus",
        fingerprint="a1b2c3d4e5f60718",
        labels={"alertname": "DiskFull", "instance": "db1"},
        annotations={"summary": "disk full"},
        status=AlertStatus.FIRING,
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=4),
        generator_url="http://prometheus/graph",
        received_at=T0 + timedelta(seconds=1),
    ),
    # A PagerDuty alert: no end, a dedup key, acknowledged.
    Alert(
        source="pagerduty",
        fingerprint="pd-0001",
        labels={},
        annotations={},
        status=AlertStatus.FIRING,
        starts_at=T0,
        ends_at=None,
        generator_url="",
        received_at=T0,
        dedup_key="db1/disk",
        acknowledged=True,
    ),
    # A resolve at the edges of the representable range.
    Alert(
        source="webhook",
        fingerprint="f",
        labels={"a": "b"},
        annotations={"c": "d"},
        status=AlertStatus.RESOLVED,
        starts_at=datetime(1, 1, 1, tzinfo=UTC),
        ends_at=datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        generator_url="",
        received_at=T0,
    ),
]


@pytest.mark.parametrize("alert", CASES, ids=["prometheus", "pagerduty", "range-edges"])
def test_an_alert_reads_back_equal(alert: Alert) -> None:
    read = Alert.from_json(alert.to_json())
    assert read == alert
    assert read.status is alert.status
    assert all(t is None or t.tzinfo is UTC for t in (read.starts_at, read.ends_at))


def test_an_unknown_status_is_a_value_error() -> None:
    body = CASES[0].to_json().replace(b'"firing"', b'"pending"')
    with pytest.raises(ValueError, match="pending"):
        Alert.from_json(body)
