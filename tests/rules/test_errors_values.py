"""Mistakes in values (durations, regexes, times, templates, secrets, priorities, muting)
are reported at the right file, line and key, with a useful message.

Every case is a rules file loaded next to a valid base file; the line marked ``#<`` is
where the problem must be reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.helpers import assert_reported
from tests.rules.test_errors import POLICY, mark

CASES = [
    # A duration in words.
    pytest.param(
        mark(POLICY, "delay: 5m", "delay: 5 minutes"),
        "escalation_policies[0].levels[0].delay",
        "is not a duration",
        id="bad-duration",
    ),
    # A level delay under a minute.
    pytest.param(
        mark(POLICY, "delay: 5m", "delay: 10s"),
        "escalation_policies[0].levels[0].delay",
        "at least 1m",
        id="duration-too-short",
    ),
    # A regular expression that does not compile.
    pytest.param(
        POLICY + "route:\n  policy: default\n  routes:\n"
        "    - matchers:\n        - 'alertname=~\"(unclosed\"'  #<\n",
        "route.routes[0].matchers[0]",
        "not a valid regular expression",
        id="bad-regex",
    ),
    # A matcher without an operator.
    pytest.param(
        POLICY + "route:\n  policy: default\n  routes:\n    - matchers: [alertname]  #<\n",
        "route.routes[0].matchers[0]",
        "is not a matcher",
        id="bad-matcher",
    ),
    # A title template that does not parse.
    pytest.param(
        "categories:\n  - matchers: []\n    title: '{{ labels.alertname '  #<\n",
        "categories[0].title",
        "template line 1",
        id="template-syntax",
    ),
    # A title template with a filter Jinja2 does not have.
    pytest.param(
        "categories:\n  - matchers: []\n    title: '{{ labels.x | shout }}'  #<\n",
        "categories[0].title",
        "No filter named 'shout'",
        id="template-unknown-filter",
    ),
    # A title template naming a variable titles do not get.
    pytest.param(
        "categories:\n  - matchers: []\n    title: '{{ incident.id }}'  #<\n",
        "categories[0].title",
        "unknown variable(s) incident",
        id="template-unknown-variable",
    ),
    # A template that fails when rendered, found at load and not when an incident opens.
    pytest.param(
        "templates:\n  title: '{{ labels.alertname + 1 }}'  #<\n",
        "templates.title",
        "fails on sample values",
        id="template-runtime-error",
    ),
    # Public text may not use alert labels: they are internal.
    pytest.param(
        "status_page:\n  name: S\n  templates:\n    title: '{{ labels.instance }}'  #<\n",
        "status_page.templates.title",
        "public text may not use alert data",
        id="public-template-labels",
    ),
    # The page's URL goes into every link and feed: quotes and <> would break out.
    pytest.param(
        "status_page:\n  name: S\n  url: 'https://status.example/\"><x'  #<\n",
        "status_page.url",
        "is not a valid URL",
        id="status-page-url-quotes",
    ),
    # The sandbox refuses Python internals.
    pytest.param(
        "templates:\n  title: '{{ labels.__class__.__mro__ }}'  #<\n",
        "templates.title",
        "fails on sample values",
        id="template-sandbox",
    ),
    # A secret written inline.
    pytest.param(
        "channels:\n  - name: m2\n    email:\n      smtp_host: h\n      from: a@b.c\n"
        "      username: u\n      password: hunter2  #<\n",
        "channels[0].email.password",
        "secrets are not written inline",
        id="inline-secret",
    ),
    # A secret from an environment variable that is not set.
    pytest.param(
        "sources:\n  - name: am\n    kind: alertmanager\n    auth:\n"
        "      bearer_token: {env: NOT_SET}  #<\n",
        "sources[0].auth.bearer_token.env",
        "environment variable NOT_SET is not set",
        id="secret-env-unset",
    ),
    # A secret file that is not there.
    pytest.param(
        "sources:\n  - name: am\n    kind: alertmanager\n    auth:\n"
        "      bearer_token: {file: no-such-file}  #<\n",
        "sources[0].auth.bearer_token.file",
        "cannot read",
        id="secret-file-missing",
    ),
    # A time zone that does not exist.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: Europe/Atlantis  #<\n    layers: []\n",
        "schedules[0].time_zone",
        "not an IANA time zone",
        id="bad-zone",
    ),
    # An override starting at a time the DST change skips.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: Europe/Berlin\n    layers:\n      - name: l\n"
        "        members: [ana]\n        rotation: {every: 1w, handoff: 2026-01-05T09:00}\n"
        "    overrides:\n      - person: ana\n        start: 2026-03-29T02:30  #<\n"
        "        end: 2026-03-30T09:00\n",
        "schedules[0].overrides[0].start",
        "does not exist in Europe/Berlin",
        id="override-in-dst-gap",
    ),
    # A wall-clock time that happens twice when DST ends.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: Europe/Berlin\n    layers:\n      - name: l\n"
        "        members: [ana]\n"
        "        rotation: {every: 1w, handoff: 2026-10-25T02:30}  #<\n",
        "schedules[0].layers[0].rotation.handoff",
        "happens twice",
        id="handoff-ambiguous",
    ),
    # An override ending before it starts.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: UTC\n    layers:\n      - name: l\n"
        "        members: [ana]\n        rotation: {every: 1d, handoff: 2026-01-05T09:00}\n"
        "    overrides:\n      - person: ana\n        start: 2026-03-02T09:00\n"
        "        end: 2026-03-01T09:00  #<\n",
        "schedules[0].overrides[0].end",
        "must be after start",
        id="override-backwards",
    ),
    # A restriction ending at 25 o'clock.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: UTC\n    layers:\n      - name: l\n"
        "        members: [ana]\n        rotation: {every: 1d, handoff: 2026-01-05T09:00}\n"
        "        restrictions:\n          - {days: [mon-fri], from: '09:00', to: '25:00'}  #<\n",
        "schedules[0].layers[0].restrictions[0].to",
        "not a time of day",
        id="bad-clock",
    ),
    # A weekday that is not one.
    pytest.param(
        "schedules:\n  - name: s\n    time_zone: UTC\n    layers:\n      - name: l\n"
        "        members: [ana]\n        rotation: {every: 1d, handoff: 2026-01-05T09:00}\n"
        "        restrictions:\n          - {days: [funday]}  #<\n",
        "schedules[0].layers[0].restrictions[0].days",
        "is not a weekday",
        id="bad-weekday",
    ),
    # A matrix row with too few priorities.
    pytest.param(
        "priority:\n  matrix:\n    - [P1, P2, P3]\n    - [P2, P3]  #<\n    - [P3, P4, P5]\n",
        "priority.matrix[1]",
        "needs 3 priorities",
        id="matrix-shape",
    ),
    # A matrix that skips a priority.
    pytest.param(
        "priority:\n  matrix:\n    - [P1, P2, P3]  #<\n    - [P2, P3, P5]\n    - [P3, P5, P5]\n",
        "priority.matrix",
        "skips P4",
        id="matrix-gap",
    ),
    # A warning threshold after the target it warns about.
    pytest.param(
        "priority:\n  sla:\n    P1:\n      acknowledge: {within: 5m, warn_at: [10m]}  #<\n",
        "priority.sla.P1.acknowledge.within",
        "is not before the target",
        id="warn-after-target",
    ),
    # An SLA for a priority the matrix cannot give.
    pytest.param(
        "priority:\n  sla:\n    P7: {resolve: 1h}  #<\n",
        "priority.sla.P7",
        "unknown key",
        id="sla-unknown-priority",
    ),
    # A resolve target shorter than the acknowledge target.
    pytest.param(
        "priority:\n  sla:\n    P1: {acknowledge: 1h, resolve: 30m}  #<\n",
        "priority.sla.P1.resolve",
        "must be longer than acknowledge",
        id="resolve-before-acknowledge",
    ),
    # A silence without a UTC offset: silences are absolute instants.
    pytest.param(
        "silences:\n  - matchers: ['job=\"x\"']\n    starts_at: '2026-01-01T00:00'  #<\n"
        "    ends_at: 2026-01-02T00:00:00Z\n    comment: c\n",
        "silences[0].starts_at",
        "needs a UTC offset",
        id="silence-naive-time",
    ),
    # A silence ending before it starts.
    pytest.param(
        "silences:\n  - matchers: ['job=\"x\"']\n    starts_at: 2026-01-02T00:00:00Z\n"
        "    ends_at: 2026-01-01T00:00:00Z  #<\n    comment: c\n",
        "silences[0].ends_at",
        "must be after starts_at",
        id="silence-backwards",
    ),
    # A silence whose matchers all match the empty string would mute every alert.
    pytest.param(
        "silences:\n  - matchers: ['job=~\".*\"']  #<\n    starts_at: 2026-01-01T00:00:00Z\n"
        "    ends_at: 2026-01-02T00:00:00Z\n    comment: c\n",
        "silences[0].matchers",
        "every alert is muted",
        id="silence-matches-all",
    ),
    # A maintenance window with both a weekly and a cron schedule.
    pytest.param(
        "maintenance_windows:\n  - name: w  #<\n    matchers: ['job=\"x\"']\n    time_zone: UTC\n"
        "    weekly: [{days: [sun]}]\n    cron: '0 2 * * *'\n    duration: 1h\n",
        "maintenance_windows[0]",
        "give exactly one schedule: weekly, cron (with duration), or from and to",
        id="window-weekly-and-cron",
    ),
    # A cron expression with a minute out of range.
    pytest.param(
        "maintenance_windows:\n  - name: w\n    matchers: ['job=\"x\"']\n    time_zone: UTC\n"
        "    cron: '61 2 * * *'  #<\n    duration: 1h\n",
        "maintenance_windows[0].cron",
        "minute: '61' is not a valid cron field (values 0-59",
        id="bad-cron",
    ),
    # A cron expression for a day that never comes.
    pytest.param(
        "maintenance_windows:\n  - name: w\n    matchers: ['job=\"x\"']\n    time_zone: UTC\n"
        "    cron: '0 0 30 2 *'  #<\n    duration: 1h\n",
        "maintenance_windows[0].cron",
        "selects no time at all",
        id="cron-never",
    ),
    # A one-off window that ends before it starts.
    pytest.param(
        "maintenance_windows:\n  - name: w\n    matchers: ['job=\"x\"']\n"
        "    from: 2026-12-24T22:00:00Z\n    to: 2026-12-24T21:00:00Z  #<\n",
        "maintenance_windows[0].to",
        "must be after from",
        id="one-off-backwards",
    ),
    # A one-off window with a start and no end.
    pytest.param(
        "maintenance_windows:\n  - name: w  #<\n    matchers: ['job=\"x\"']\n"
        "    from: 2026-12-24T22:00:00Z\n",
        "maintenance_windows[0].to",
        "is required with a one-off window",
        id="one-off-without-end",
    ),
    # A one-off window that also recurs weekly.
    pytest.param(
        "maintenance_windows:\n  - name: w  #<\n    matchers: ['job=\"x\"']\n    time_zone: UTC\n"
        "    weekly: [{days: [sun]}]\n    from: 2026-12-24T22:00:00Z\n    to: 2026-12-25T01:00:00Z\n",
        "maintenance_windows[0]",
        "give exactly one schedule",
        id="one-off-and-weekly",
    ),
    # Wall-clock instants without a time zone to read them in.
    pytest.param(
        "maintenance_windows:\n  - name: w\n    matchers: ['job=\"x\"']\n"
        "    from: '2026-12-24T22:00'  #<\n    to: 2026-12-25T01:00:00Z\n",
        "maintenance_windows[0].from",
        "needs a UTC offset",
        id="one-off-without-zone",
    ),
    # A weekly window needs its zone: 02:00 where?
    pytest.param(
        "maintenance_windows:\n  - name: w  #<\n    matchers: ['job=\"x\"']\n"
        "    weekly: [{days: [sun], from: '02:00', to: '04:00'}]\n",
        "maintenance_windows[0].time_zone",
        "is required with weekly or cron",
        id="weekly-without-zone",
    ),
    # An inhibit rule equal label that is not a label name.
    pytest.param(
        "inhibit_rules:\n  - source_matchers: ['a=\"1\"']\n    target_matchers: ['b=\"1\"']\n"
        "    equal: [cluster-name]  #<\n",
        "inhibit_rules[0].equal[0]",
        "not a valid label name",
        id="inhibit-bad-equal",
    ),
    # An inhibit rule without source matchers would let any alert mute its targets.
    pytest.param(
        "inhibit_rules:\n  - source_matchers: []  #<\n    target_matchers: ['b=\"1\"']\n",
        "inhibit_rules[0].source_matchers",
        "give at least one matcher",
        id="inhibit-no-source",
    ),
    # A Slack webhook secret that is not a URL; the message does not print the secret.
    pytest.param(
        "channels:\n  - name: s2\n    slack: {webhook_url: {env: TOKEN}}  #<\n",
        "channels[0].slack.webhook_url",
        "the value read from env:TOKEN is not an https:// URL",
        id="slack-url-not-https",
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), CASES)
def test_mistake_in_a_value_is_reported_at_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert_reported(tmp_path, text, key, message)
