"""The ``correlation`` and ``heartbeats`` sections: defaults, values, and mistakes located."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import RuleError
from rules.correlation import Tuning
from tests.rules.helpers import assert_reported, load_text


def test_absent_sections_give_the_defaults(tmp_path: Path) -> None:
    rules = load_text(tmp_path, "sources: []\n")
    assert rules.correlation == Tuning()
    # Alerts without an end time are never expired by default.
    assert rules.correlation.resolve_timeout == timedelta(0)
    assert rules.heartbeats == ()


def test_every_key_is_read(tmp_path: Path) -> None:
    rules = load_text(
        tmp_path,
        """
correlation:
  resolve_timeout: 15m
  resolve_delay: 2m
  flap_detection: {changes: 6, window: 20m, hold_down: 10m}
  hold: {alerts: 3, duration: 5m}
heartbeats:
  - name: nightly-backup
    interval: 25h
    labels: {service: db}
    summary: The nightly backup did not report
""",
    )
    assert rules.correlation == Tuning(
        resolve_timeout=timedelta(minutes=15),
        resolve_delay=timedelta(minutes=2),
        flap_changes=6,
        flap_window=timedelta(minutes=20),
        flap_hold_down=timedelta(minutes=10),
        hold_alerts=3,
        hold_duration=timedelta(minutes=5),
    )
    [heartbeat] = rules.heartbeats
    assert heartbeat.interval == timedelta(hours=25)
    assert heartbeat.alert_labels() == {
        "service": "db",
        "alertname": "HeartbeatMissing",
        "heartbeat": "nightly-backup",
    }


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A duration that is not one.
        pytest.param(
            "correlation:\n  resolve_delay: soon  #<\n",
            "correlation.resolve_delay",
            "",
            id="bad-duration",
        ),
        # Flap detection needs at least two changes to mean anything.
        pytest.param(
            "correlation:\n  flap_detection:\n    changes: 1  #<\n",
            "correlation.flap_detection.changes",
            "",
            id="one-change",
        ),
        # A misspelt key inside hold.
        pytest.param(
            "correlation:\n  hold:\n    alert: 3  #<\n",
            "correlation.hold.alert",
            "unknown key",
            id="hold-key",
        ),
        # A heartbeat without its interval.
        pytest.param(
            "heartbeats:\n  - name: x  #<\n",
            "heartbeats[0].interval",
            "is required",
            id="no-interval",
        ),
        # The labels that identify the heartbeat alert are Tocsin's.
        pytest.param(
            "heartbeats:\n  - name: x\n    interval: 1h\n    labels:\n      alertname: Mine  #<\n",
            "heartbeats[0].labels.alertname",
            "reserved",
            id="reserved-label",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, message: str) -> None:
    assert_reported(tmp_path, text, key, message)


def test_a_heartbeat_defined_twice_names_both_places(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="also defined"):
        load_text(
            tmp_path, "heartbeats:\n  - {name: x, interval: 1h}\n  - {name: x, interval: 2h}\n"
        )
