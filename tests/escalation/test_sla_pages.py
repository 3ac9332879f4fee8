"""Who an SLA warning or breach pages (functional and hierarchical), and the outbox key."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from escalation.page import Page
from escalation.sla_pages import recipients, sla_page
from escalation.sla_state import BREACH, ClockName, ClockRun, SlaState, Threshold
from escalation.webhook import webhook_body
from rules.model import Rules
from rules.people import Person, Team
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind
from rules.priority import PriorityRules
from rules.services import Service
from rules.sla_rules import SlaEscalation, SlaEscalationKind
from tests.contract.builders import T0
from tests.escalation.builders import layer, local, schedule
from tests.escalation.sla_world import sla_rules

WARNING = Threshold("warning-3m45s", timedelta(minutes=3, seconds=45))
BREACHED = Threshold(BREACH, timedelta(minutes=5))
FUNCTIONAL = frozenset({SlaEscalationKind.FUNCTIONAL})
HIERARCHICAL = frozenset({SlaEscalationKind.HIERARCHICAL})


def state(
    team: str | None = "web", assignee: str | None = None, service: str | None = None
) -> SlaState:
    """A P1 incident's clocks, started at T0."""
    run = ClockRun(timedelta(minutes=5), (WARNING.elapsed,))
    return SlaState(
        "inc-1",
        1,
        T0,
        None,
        (),
        {ClockName.ACKNOWLEDGE: run},
        "triggered",
        "P1",
        team,
        service,
        assignee,
        "Checkout down",
    )


def with_escalation(escalation: SlaEscalation | None, **extra: object) -> Rules:
    """The SLA world's rules with team web's SLA escalation replaced."""
    rules = sla_rules()
    teams = dict(rules.teams)
    teams["web"] = replace(teams["web"], sla_escalation=escalation)
    return replace(rules, teams=teams, **extra)  # type: ignore[arg-type]


def who(rules: Rules, threshold: Threshold = BREACHED, **fields: str | None) -> list[str]:
    found, _ = recipients(rules, state(**fields), threshold, T0)
    return [f"{person or '-'}:{channel}" for person, channel, _ in found]


@pytest.mark.parametrize(
    ("escalation", "threshold", "assignee", "expected"),
    [
        # A breach: the next tier (team tier2: bob) and the manager named (boss).
        (
            SlaEscalation(Target(TargetKind.TEAM, "tier2"), None, "boss"),
            BREACHED,
            None,
            ["bob:hook", "boss:hook"],
        ),
        # A warning: the next tier only, by default.
        (
            SlaEscalation(Target(TargetKind.TEAM, "tier2"), None, "boss"),
            WARNING,
            None,
            ["bob:hook"],
        ),
        # Warnings can go to the manager too.
        (
            SlaEscalation(
                Target(TargetKind.TEAM, "tier2"), None, "boss", FUNCTIONAL | HIERARCHICAL
            ),
            WARNING,
            None,
            ["bob:hook", "boss:hook"],
        ),
        # No manager named: the assignee's manager (ann's is boss).
        (SlaEscalation(None, None, None), BREACHED, "ann", ["boss:hook"]),
        # No manager named and no assignee: nobody hierarchical.
        (SlaEscalation(None, None, None), BREACHED, None, []),
        # Breaches can be limited to the manager.
        (
            SlaEscalation(Target(TargetKind.TEAM, "tier2"), None, "boss", on_breach=HIERARCHICAL),
            BREACHED,
            None,
            ["boss:hook"],
        ),
        # A person reached twice (team both has boss, the manager too) is paged once.
        (
            SlaEscalation(Target(TargetKind.TEAM, "both"), None, "boss"),
            BREACHED,
            None,
            ["bob:hook", "boss:hook"],
        ),
    ],
)
def test_who_is_paged(
    escalation: SlaEscalation, threshold: Threshold, assignee: str | None, expected: list[str]
) -> None:
    rules = with_escalation(escalation)
    people = dict(rules.people)
    people["ann"] = replace(people["ann"], manager="boss")
    teams = {**rules.teams, "both": Team("both", "Both", ("bob", "boss"))}
    rules = replace(rules, people=people, teams=teams)
    assert who(rules, threshold, assignee=assignee) == expected


def test_a_policy_is_paged_as_its_first_level_channels_included() -> None:
    policy = EscalationPolicy(
        "tier2",
        "",
        (
            EscalationLevel(
                timedelta(minutes=5),
                (Target(TargetKind.PERSON, "bob"), Target(TargetKind.CHANNEL, "hook")),
            ),
            EscalationLevel(timedelta(minutes=5), (Target(TargetKind.PERSON, "ann"),)),
        ),
    )
    rules = with_escalation(
        SlaEscalation(None, "tier2", "boss"), escalation_policies={"tier2": policy}
    )
    assert who(rules) == ["bob:hook", "-:hook", "boss:hook"]


def test_a_schedule_pages_whoever_is_on_call_then() -> None:
    night = schedule(layer("a", "bob,ann", timedelta(days=1), local("2024-03-01T00:00", "UTC")))
    rules = with_escalation(
        SlaEscalation(Target(TargetKind.SCHEDULE, "s"), None, None, on_breach=FUNCTIONAL)
    )
    rules = replace(rules, schedules={"s": night})
    # 2024-03-10 is turn 9 of [bob, ann]: ann.
    assert who(rules) == ["ann:hook"]


def test_the_team_comes_from_the_service_and_the_priority_section_is_the_fallback() -> None:
    fallback = SlaEscalation(None, None, "boss", on_breach=HIERARCHICAL)
    rules = with_escalation(None, priority=PriorityRules(sla_rules().priority.matrix, (), fallback))
    assert who(rules) == ["boss:hook"]  # team web names none: the priority section's
    rules = with_escalation(
        SlaEscalation(None, None, "bob"), services={"shop": Service("shop", "Shop", team="web")}
    )
    assert who(rules, team=None, service="shop") == ["bob:hook"]


def test_why_nobody_was_paged_is_said() -> None:
    rules = with_escalation(SlaEscalation(Target(TargetKind.TEAM, "tier2"), None, "mute"))
    people = {**rules.people, "mute": Person("mute", "Mute", ())}
    teams = dict(rules.teams)
    teams.pop("tier2")
    found, missing = recipients(replace(rules, people=people, teams=teams), state(), BREACHED, T0)
    assert found == []
    assert missing == ["team tier2 is no longer in the rules", "person mute has no contact method"]


def test_an_sla_page_has_its_own_key_and_says_what_it_is_about() -> None:
    page = sla_page(
        state(), ClockName.ACKNOWLEDGE, WARNING, ("bob", "hook", "bob@x"), T0, timedelta(minutes=5)
    )
    assert page.key == "inc-1:sla:1:acknowledge:P1:warning-3m45s:bob:hook"
    assert Page.key.fget(page) != page.key  # type: ignore[attr-defined]
    document = page.to_document()
    assert document["key"] == page.key
    assert document["sla"]["threshold"] == "warning-3m45s"
    assert document["title"] == "SLA time to acknowledge P1 warning at 3m45s: Checkout down"
    assert document["address"] == "bob@x"


def test_the_webhook_body_says_it_is_about_the_sla() -> None:
    page = sla_page(
        state(), ClockName.ACKNOWLEDGE, BREACHED, ("bob", "hook", "b"), T0, timedelta(minutes=5)
    )
    body = webhook_body(page.to_document(), "http://127.0.0.1:9094")
    assert body["type"] == "incident.sla"
    assert body["sla"] == {
        "cycle": 1,
        "clock": "acknowledge",
        "threshold": "breach",
        "target_seconds": 300.0,
        "elapsed_seconds": 300.0,
    }
    assert body["page"]["key"] == "inc-1:sla:1:acknowledge:P1:breach:bob:hook"


def test_the_document_reads_back() -> None:
    paused = replace(
        state(),
        paused_since=T0 + timedelta(minutes=1),
        holds=((T0, T0 + timedelta(seconds=7, microseconds=3)),),
    )
    assert SlaState.from_document(paused.to_document()) == paused
