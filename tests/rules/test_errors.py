"""Each kind of mistake in structure and references is reported at the right file, line and key, with a useful message.

Every case is a rules file loaded next to a valid base file (a channel, two people, a
team). The line marked ``#<`` is where the problem must be reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.helpers import assert_reported, problems

POLICY = """\
escalation_policies:
  - name: default
    levels:
      - {delay: 5m, targets: [{team: ops}]}
"""


def mark(text: str, old: str, new: str) -> str:
    """Replaces ``old`` by ``new`` and marks that line as where the problem is."""
    [line] = [line for line in text.splitlines() if old in line]
    return text.replace(line, line.replace(old, new) + "  #<")


CASES = [
    # A misspelt top-level section, with the likely one named.
    pytest.param(
        "sourcs: []  #<\n", "sourcs", "unknown key; did you mean 'sources'?", id="unknown-section"
    ),
    # A misspelt key inside an item, likewise.
    pytest.param(
        "teams:\n  - name: dev\n    member: [ana]  #<\n",
        "teams[0].member",
        "unknown key; did you mean 'members'? (allowed: ",
        id="misspelt-key",
    ),
    # A key that people do not have.
    pytest.param(
        "people:\n  - name: cy\n    contacts: [{channel: mail, address: c@x.org}]\n"
        "    phone: '555'  #<\n",
        "people[0].phone",
        "unknown key",
        id="unknown-key",
    ),
    # A number where a list of members belongs.
    pytest.param(
        "teams:\n  - name: dev\n    members: 5  #<\n",
        "teams[0].members",
        "must be a list, not the number 5",
        id="wrong-type",
    ),
    # YAML 1.1 reads `yes` as a boolean: a name must be a string.
    pytest.param(
        "teams:\n  - name: yes  #<\n    members: [ana]\n",
        "teams[0].name",
        "must be a string, not the boolean yes",
        id="norway-boolean",
    ),
    # A required key left out.
    pytest.param(
        "teams:\n  - name: dev  #<\n",
        "teams[0].members",
        "is required",
        id="missing-required",
    ),
    # A key written twice in one mapping.
    pytest.param(
        "teams:\n  - name: dev\n    members: [ana]\n    name: dev2  #<\n",
        "teams[0].name",
        "key given twice",
        id="duplicate-key",
    ),
    # A route naming a policy that does not exist.
    pytest.param(
        POLICY + "route:\n  policy: defualt  #<\n",
        "route.policy",
        "unknown policy 'defualt'; did you mean 'default'?",
        id="unknown-policy",
    ),
    # Policies but no route to them: the default route is required.
    pytest.param(
        mark(POLICY, "name: default", "name: default"),
        "route",
        "no route sends alerts to them",
        id="route-required",
    ),
    # The root route matches everything; it takes no matchers.
    pytest.param(
        POLICY + "route:\n  policy: default\n  matchers: ['a=\"b\"']  #<\n",
        "route.matchers",
        "unknown key",
        id="root-matchers",
    ),
    # Below the root, a route without matchers would shadow its siblings.
    pytest.param(
        POLICY + "route:\n  policy: default\n  routes:\n    - policy: default  #<\n",
        "route.routes[0].matchers",
        "is required below the root",
        id="child-without-matchers",
    ),
    # Two sibling routes with the same matchers and no names share one group key.
    pytest.param(
        POLICY + "route:\n  policy: default\n  routes:\n    - matchers: ['a=\"1\"']\n"
        "    - matchers: ['a=\"1\"']  #<\n",
        "route.routes[1]",
        "has the same key",
        id="route-key-twice",
    ),
    # '...' means every label; listing more next to it is a mistake.
    pytest.param(
        POLICY + "route:\n  policy: default\n  group_by: ['...', alertname]  #<\n",
        "route.group_by",
        "groups by every label",
        id="group-by-all-and-more",
    ),
    # A schedule naming an unknown person.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: UTC\n    layers:\n      - name: l\n"
        "        members: [ana, benn]  #<\n"
        "        rotation: {every: 1w, handoff: 2026-01-05T09:00}\n",
        "schedules[0].layers[0].members[1]",
        "unknown person 'benn'; did you mean 'ben'?",
        id="schedule-unknown-person",
    ),
    # A team naming an unknown person.
    pytest.param(
        "teams:\n  - name: dev\n    members:\n      - zed  #<\n",
        "teams[0].members[0]",
        "unknown person 'zed'",
        id="team-unknown-person",
    ),
    # A policy target naming an unknown schedule.
    pytest.param(
        "escalation_policies:\n  - name: p\n    levels:\n      - delay: 5m\n"
        "        targets: [{schedule: nights}]  #<\nroute: {policy: p}\n",
        "escalation_policies[0].levels[0].targets[0].schedule",
        "unknown schedule 'nights': no schedules are defined",
        id="policy-unknown-schedule",
    ),
    # A target that is a person and a team at once.
    pytest.param(
        "escalation_policies:\n  - name: p\n    levels:\n      - delay: 5m\n"
        "        targets: [{person: ana, team: ops}]  #<\nroute: {policy: p}\n",
        "escalation_policies[0].levels[0].targets[0]",
        "give exactly one of",
        id="target-two-kinds",
    ),
    # More repeats than anyone wants to be paged.
    pytest.param(
        POLICY.replace("    levels:", "    repeat: 50  #<\n    levels:")
        + "route: {policy: default}\n",
        "escalation_policies[0].repeat",
        "at most 10",
        id="repeat-too-large",
    ),
    # A categorisation rule naming a component the status page does not have.
    pytest.param(
        "categories:\n  - matchers: []\n    components: [api]  #<\n",
        "categories[0].components[0]",
        "unknown component 'api'",
        id="unknown-component",
    ),
    # A categorisation rule naming an unknown service.
    pytest.param(
        "categories:\n  - matchers: []\n    service: shop  #<\n",
        "categories[0].service",
        "unknown service 'shop'",
        id="unknown-service",
    ),
    # An impact level the priority matrix does not have.
    pytest.param(
        "categories:\n  - matchers: []\n    impact: huge  #<\n",
        "categories[0].impact",
        "'huge' is not an impact level (levels: high, medium, low, or 1-3)",
        id="unknown-impact",
    ),
    # An urgency number past the matrix.
    pytest.param(
        "categories:\n  - matchers: []\n    urgency: 4  #<\n",
        "categories[0].urgency",
        "is not an urgency level",
        id="urgency-out-of-range",
    ),
    # An e-mail contact without an address.
    pytest.param(
        "people:\n  - name: cy\n    contacts:\n      - {channel: mail}  #<\n",
        "people[0].contacts[0].channel",
        "is an email channel: give an address",
        id="email-contact-without-address",
    ),
    # A contact on a channel that does not exist.
    pytest.param(
        "people:\n  - name: cy\n    contacts:\n      - {channel: sms}  #<\n",
        "people[0].contacts[0].channel",
        "unknown channel 'sms'",
        id="unknown-channel",
    ),
    # A component in a group the page does not have.
    pytest.param(
        "status_page:\n  name: S\n  components:\n    - {name: api, display_name: API, group: core}  #<\n",
        "status_page.components[0].group",
        "unknown group 'core'",
        id="unknown-group",
    ),
    # A channel that is both e-mail and Slack.
    pytest.param(
        "channels:\n  - name: both  #<\n    email: {smtp_host: h, from: a@b.c}\n"
        "    slack: {webhook_url: {env: SLACK_URL}}\n",
        "channels[0]",
        "give exactly one of apprise, email, slack, webhook",
        id="channel-two-kinds",
    ),
    # A name with capitals and spaces, which other parts of the rules could not refer to.
    pytest.param(
        "teams:\n  - name: Night Shift  #<\n    members: [ana]\n",
        "teams[0].name",
        "not a valid name",
        id="bad-name",
    ),
    # A YAML syntax error (a tab in the indentation): reported where the parser stopped,
    # the whole document named as the key (never an empty one).
    pytest.param(
        "teams:\n  - name: dev\n\tmembers: [ana]  #<\n",
        "(document)",
        "not valid YAML",
        id="yaml-syntax",
    ),
    # A sequence where the file's top level should be a mapping.
    pytest.param("- a  #<\n- b\n", "", "must be a mapping", id="top-level-list"),
    # A lookahead: Python's re has it, RE2 and Go's regexp (Alertmanager) do not.
    pytest.param(
        "silences:\n  - matchers:\n      - 'a=\"x\"'\n      - 'instance=~\"(?=db)db1\"'  #<\n"
        "    starts_at: 2026-01-01T00:00:00Z\n    ends_at: 2026-01-02T00:00:00Z\n"
        "    comment: c\n",
        "silences[0].matchers[1]",
        "is not a valid regular expression: invalid perl operator: (?=",
        id="regex-lookahead",
    ),
    # Likewise in an inhibit rule: a backreference.
    pytest.param(
        "inhibit_rules:\n  - source_matchers: ['a=\"x\"']\n"
        "    target_matchers: ['b=~\"(x)\\\\1\"']  #<\n",
        "inhibit_rules[0].target_matchers[0]",
        "is not a valid regular expression: invalid escape sequence",
        id="regex-backreference",
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), CASES)
def test_mistake_is_reported_at_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert_reported(tmp_path, text, key, message)


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    text = (
        "teams:\n  - name: Dev\n    members: [zed]\n"
        "people:\n  - name: cy\n    contacts: []\n    phone: x\n"
    )
    found = problems(tmp_path, text)
    assert {p.key for p in found} >= {
        "teams[0].name",
        "teams[0].members[0]",
        "people[0].contacts",
        "people[0].phone",
    }


def test_a_reference_to_a_broken_definition_is_not_reported_twice(tmp_path: Path) -> None:
    # cy's own entry is broken; the team naming cy must not add "unknown person".
    text = "people:\n  - name: cy\n    contacts: 3\nteams:\n  - {name: dev, members: [cy]}\n"
    found = problems(tmp_path, text)
    assert [p.key for p in found] == ["people[0].contacts"]
