"""The escalation policies' ``ack_timeout`` in the rules: read, defaulted, checked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.rules.helpers import assert_reported, load_with_base

POLICY = """\
escalation_policies:
  - name: default
    ack_timeout: 30m
    levels:
      - {delay: 5m, targets: [{team: ops}]}
route: {policy: default}
"""


def test_ack_timeout_is_read_from_the_policy(tmp_path: Path) -> None:
    rules = load_with_base(tmp_path, POLICY)

    assert rules.escalation_policies["default"].ack_timeout == timedelta(minutes=30)


def test_a_policy_without_ack_timeout_keeps_an_acknowledgement(tmp_path: Path) -> None:
    rules = load_with_base(tmp_path, POLICY.replace("    ack_timeout: 30m\n", ""))

    assert rules.escalation_policies["default"].ack_timeout is None


def test_an_ack_timeout_under_a_minute_is_reported(tmp_path: Path) -> None:
    text = POLICY.replace("ack_timeout: 30m", "ack_timeout: 10s  #<")

    assert_reported(tmp_path, text, "escalation_policies[0].ack_timeout", "at least 1m")
