"""The rules keys of SLA escalation (teams, priority), managers and support hours."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rules.explain import AlertInput, explain
from rules.policies import Target, TargetKind
from rules.sla_rules import SlaEscalation, SlaEscalationKind
from tests.rules.helpers import assert_reported, load_with_base

T = datetime(2026, 6, 13, 12, tzinfo=UTC)
VALID = """\
people:
  - {name: boss, manager: ceo, contacts: [{channel: mail, address: boss@example.com}]}
  - {name: ceo, contacts: [{channel: mail, address: ceo@example.com}]}
teams:
  - name: dba
    members: [boss]
    sla_escalation:
      functional: {team: ops}
      hierarchical: boss
      on_warning: [functional, hierarchical]
    support_hours:
      time_zone: Europe/Berlin
      days: [mon-fri]
      from: "09:00"
      to: "17:00"
services:
  - name: shop
    team: dba
    support_hours:
      time_zone: America/New_York
      windows: [{days: [mon-fri], from: "08:00", to: "12:00"}, {days: [sat], from: "10:00"}]
      urgency: [low, medium]
      priority: [P4, P5]
priority:
  sla_escalation: {functional: {schedule: night}, on_breach: hierarchical}
schedules:
  - name: night
    time_zone: UTC
    layers:
      - {name: a, members: [boss], rotation: {every: 1d, handoff: "2026-01-05T09:00"}}
"""


def test_the_keys_load_into_their_dataclasses(tmp_path: Path) -> None:
    rules = load_with_base(tmp_path, VALID)
    assert rules.people["boss"].manager == "ceo"
    dba = rules.teams["dba"]
    assert dba.sla_escalation == SlaEscalation(
        Target(TargetKind.TEAM, "ops"), None, "boss", frozenset(SlaEscalationKind)
    )
    assert dba.support_hours is not None
    assert dba.support_hours.time_zone == ZoneInfo("Europe/Berlin")
    assert str(dba.support_hours.windows[0]) == "mon,tue,wed,thu,fri 09:00-17:00"
    assert dba.support_hours.urgencies is None  # the lowest urgency by default
    shop = rules.services["shop"].support_hours
    assert shop is not None
    assert [str(w) for w in shop.windows] == [
        "mon,tue,wed,thu,fri 08:00-12:00",
        "sat 10:00-24:00",
    ]
    assert shop.urgencies == ("low", "medium")
    assert shop.priorities == frozenset({"P4", "P5"})
    default = rules.priority.sla_escalation
    assert default == SlaEscalation(
        Target(TargetKind.SCHEDULE, "night"),
        on_breach=frozenset({SlaEscalationKind.HIERARCHICAL}),
    )


def test_a_policy_is_a_functional_target(tmp_path: Path) -> None:
    text = """\
escalation_policies:
  - name: tier2
    levels: [{delay: 5m, targets: [{team: ops}]}]
teams:
  - {name: t2, members: [ana], policy: tier2, sla_escalation: {functional: {policy: tier2}}}
"""
    escalation = load_with_base(tmp_path, text).teams["t2"].sla_escalation
    assert escalation is not None
    assert escalation.functional_policy == "tier2"
    assert escalation.functional is None


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A manager who is not defined.
        (
            "people:\n  - {name: x, manager: nobody, contacts: [{channel: mail, address: a}]} #<\n",
            "people[0].manager",
            "unknown person 'nobody'",
        ),
        # Being one's own manager.
        (
            "people:\n  - {name: x, manager: x, contacts: [{channel: mail, address: a}]} #<\n",
            "people[0].manager",
            "is the person themself",
        ),
        # A functional target of a kind that is not a support tier.
        (
            "teams:\n  - name: t\n    members: [ana]\n"
            "    sla_escalation: {functional: {person: ana}} #<\n",
            "teams[0].sla_escalation.functional.person",
            "unknown key",
        ),
        # Two functional targets at once.
        (
            "teams:\n  - name: t\n    members: [ana]\n"
            "    sla_escalation: {functional: {team: ops, schedule: s}} #<\n",
            "teams[0].sla_escalation.functional",
            "give exactly one of policy, schedule, team",
        ),
        # A functional team that does not exist.
        (
            "teams:\n  - name: t\n    members: [ana]\n"
            "    sla_escalation: {functional: {team: tier9}} #<\n",
            "teams[0].sla_escalation.functional.team",
            "unknown team 'tier9'",
        ),
        # A hierarchical person that does not exist.
        (
            "priority:\n  sla_escalation: {hierarchical: nobody} #<\n",
            "priority.sla_escalation.hierarchical",
            "unknown person 'nobody'",
        ),
        # An escalation kind that does not exist.
        (
            "priority:\n  sla_escalation: {on_warning: [sideways]} #<\n",
            "priority.sla_escalation.on_warning[0]",
            "must be one of functional, hierarchical",
        ),
        # Support hours need a zone.
        (
            "teams:\n  - name: t\n    members: [ana]\n    support_hours: {days: [mon]} #<\n",
            "teams[0].support_hours.time_zone",
            "is required",
        ),
        # A zone that is not IANA.
        (
            "teams:\n  - name: t\n    members: [ana]\n"
            "    support_hours: {time_zone: Mars/Base, days: [mon]} #<\n",
            "teams[0].support_hours.time_zone",
            "is not an IANA time zone",
        ),
        # One window and a list of them at once.
        (
            "teams:\n  - name: t\n    members: [ana]\n    support_hours:\n"
            "      time_zone: UTC #<\n      days: [mon]\n      windows: [{days: [tue]}]\n",
            "teams[0].support_hours",
            "not both",
        ),
        # No window at all.
        (
            "services:\n  - name: s\n    support_hours: {time_zone: UTC} #<\n",
            "services[0].support_hours",
            "give days/from/to",
        ),
        # An urgency the matrix does not have.
        (
            "services:\n  - name: s\n"
            "    support_hours: {time_zone: UTC, days: [mon], urgency: [lowest]} #<\n",
            "services[0].support_hours.urgency[0]",
            "'lowest' is not an urgency level",
        ),
        # A priority written wrongly.
        (
            "services:\n  - name: s\n"
            "    support_hours: {time_zone: UTC, days: [mon], priority: [low]} #<\n",
            "services[0].support_hours.priority[0]",
            "is not a priority such as P4",
        ),
        # A bad time of day.
        (
            "services:\n  - name: s\n"
            '    support_hours: {time_zone: UTC, days: [mon], from: "25:00"} #<\n',
            "services[0].support_hours.from",
            "is not a time of day",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(tmp_path: Path, text: str, key: str, message: str) -> None:
    assert_reported(tmp_path, text, key, message)


def test_explain_says_who_sla_warnings_page_and_whether_support_hours_limit(
    tmp_path: Path,
) -> None:
    rules = load_with_base(tmp_path, VALID)
    low = explain(rules, AlertInput({"alertname": "x", "service": "shop"}, {}), T)
    assert low.sla_escalation is not None
    assert low.sla_escalation.describe() == (
        "functional team ops, hierarchical boss; "
        "warnings: functional, hierarchical; breach: functional, hierarchical"
    )
    assert low.support_hours is not None
    assert low.support_hours.describe() == (
        "America/New_York mon,tue,wed,thu,fri 08:00-12:00; sat 10:00-24:00"
    )
    assert low.support_limited  # no rule sets an urgency: the lowest, which is limited
    # Without a service: the priority section's escalation, no support hours.
    other = explain(rules, AlertInput({"alertname": "x"}, {}), T)
    assert other.sla_escalation == rules.priority.sla_escalation
    assert other.sla_escalation is not None
    assert other.sla_escalation.describe() == (
        "functional schedule night, hierarchical the assignee's manager; "
        "warnings: functional; breach: hierarchical"
    )
    assert (other.support_hours, other.support_limited) == (None, False)
