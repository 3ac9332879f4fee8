"""``tocsin check``: summary, problems, JSON, exit codes and ``--explain``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules.credentials import BearerAuth
from rules.loader import load_rules
from tests.rules.helpers import EXAMPLE_ENV, EXAMPLES
from tocsin.check import run_check
from tocsin.cli import main

ALERT = {
    "labels": {
        "alertname": "CheckoutLatencyHigh",
        "team": "payments",
        "service": "checkout",
        "severity": "warning",
        "cluster": "eu1",
    },
    "annotations": {"summary": "p99 over 2s"},
    "startsAt": "2026-03-08T01:10:00Z",
}


@pytest.fixture(autouse=True)
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yml"
    path.write_text("teams:\n  - name: ops\n    members: [nobody]\nroute: {policy: nope}\n")
    return path


def test_valid_rules_print_a_summary_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{EXAMPLES}: OK\n")
    assert "  sources: 4 (alertmanager, prometheus, scripts, pagerduty-compat)" in out
    assert "  services: 3 (storefront, search, checkout)" in out
    assert "America/New_York" in out


def test_invalid_rules_list_every_problem_and_exit_1(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"{broken}:3: teams[0].members[0]: unknown person 'nobody': no people are defined",
        f"{broken}:4: route.policy: unknown policy 'nope': no escalation_policies are defined",
        f"2 problem(s) in {broken}",
    ]


def test_json_for_invalid_rules(broken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(broken), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] is False
    assert document["problems"][0] == {
        "file": str(broken),
        "line": 3,
        "key": "teams[0].members[0]",
        "message": "unknown person 'nobody': no people are defined",
    }


def test_json_for_valid_rules() -> None:
    out = io.StringIO()
    assert run_check(EXAMPLES, "json", now=datetime(2026, 12, 1, tzinfo=UTC), out=out) == 0
    document = json.loads(out.getvalue())
    assert document["valid"] is True
    assert document["summary"]["teams"] == {"count": 2, "detail": "web, payments"}
    assert document["warnings"] == []
    assert document["secrets"]["resolved"] is False
    assert "env:TOCSIN_WEBHOOK_TOKEN" in document["secrets"]["references"]


SECRET_VARIABLES = [
    "TOCSIN_ALERTMANAGER_TOKEN",
    "TOCSIN_PROMETHEUS_PASSWORD",
    "TOCSIN_WEBHOOK_TOKEN",
    "TOCSIN_PAGERDUTY_ROUTING_KEY",
]


def test_check_as_the_readme_gives_it_needs_no_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A CI job checks the rules without the production secrets, as with amtool
    # check-config; the output says they were not read and how to check them too.
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name)
    assert main(["check", str(EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert (
        "  secrets: 12 referenced, not read (4 environment variable(s), 8 file(s)); "
        "check them too with --resolve-secrets" in out
    )


def test_resolve_secrets_reads_them_as_serve_does(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(EXAMPLES), "--resolve-secrets"]) == 0
    assert "  secrets: 12 resolved (4 environment variable(s), 8 file(s))" in capsys.readouterr().out
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name)
    assert main(["check", str(EXAMPLES), "--resolve-secrets"]) == 1
    missing = [line for line in capsys.readouterr().err.splitlines() if "is not set" in line]
    assert [line.rsplit(" environment variable ", 1)[1] for line in missing] == [
        f"{name} is not set or empty" for name in SECRET_VARIABLES
    ]


def test_an_unresolved_secret_matches_nothing() -> None:
    rules = load_rules(EXAMPLES, {}, resolve_secrets=False)
    token = rules.sources[0].auth
    assert isinstance(token, BearerAuth)
    assert token.token.resolved is False
    assert not token.token.matches(token.token.value)
    assert not token.token.matches("")


def test_check_warns_about_silences_and_windows_that_already_ended(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "silences:\n"
        "  - {name: old, matchers: ['a=\"b\"'], comment: c,\n"
        "     starts_at: 2026-01-01T00:00:00Z, ends_at: 2026-02-01T00:00:00Z}\n"
        "maintenance_windows:\n"
        "  - {name: migration, matchers: ['a=\"b\"'],\n"
        "     from: 2026-03-01T00:00:00Z, to: 2026-03-02T00:00:00Z}\n"
    )
    before, after = io.StringIO(), io.StringIO()
    assert run_check(rules, now=datetime(2026, 1, 15, tzinfo=UTC), out=before) == 0
    assert run_check(rules, now=datetime(2026, 3, 5, tzinfo=UTC), out=after) == 0
    assert "warning" not in before.getvalue()
    assert [line for line in after.getvalue().splitlines() if "warning" in line] == [
        "  warning: silence 'old' ended at 2026-02-01T00:00:00+00:00: it mutes nothing any "
        "more; remove it",
        "  warning: maintenance window 'migration' ended at 2026-03-02T00:00:00+00:00: remove it",
    ]


def test_check_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    # Far more output than a pipe holds, so the writer meets the closed pipe.
    alerts = tmp_path / "alerts.json"
    alerts.write_text(json.dumps([ALERT] * 500))
    command = [sys.executable, "-m", "tocsin.cli", "check", str(EXAMPLES), "--explain", str(alerts)]
    env = {**os.environ, **EXAMPLE_ENV}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # what head does after its lines
        errors = process.stderr.read()
        code = process.wait(timeout=60)
    assert first == f"{EXAMPLES}: OK\n".encode()
    assert errors == b""
    assert code == 0


def test_explain_in_text(tmp_path: Path) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(ALERT))
    out = io.StringIO()
    sunday_3_10 = datetime(2026, 3, 8, 2, 10, tzinfo=UTC)  # in the Berlin patching window
    code = run_check(EXAMPLES, "text", alert, env=EXAMPLE_ENV, now=sunday_3_10, out=out)
    assert code == 0
    text = out.getvalue()
    explanation = text[text.index("alert 0:") :]
    expected = [
        'alert 0: {alertname="CheckoutLatencyHigh", cluster="eu1", service="checkout", '
        'severity="warning", team="payments"}',
        "  muting:",
        "    maintenance window vault-migration: matches; not active now "
        "(from 2027-01-17T02:00:00+01:00 to 2027-01-17T05:00:00+01:00)",
        "    inhibit rule provider-down-mutes-checkout-warnings: muted while an alert fires "
        'matching alertname="PaymentProviderDown", severity="critical" with equal cluster',
        "  categorisation (first match wins unless continue):",
        '    [0] payment-provider-down: no (alertname="PaymentProviderDown" does not match)',
        "    [1] checkout-latency: MATCH, decides category, service, impact, urgency, runbook",
        "  result:",
        "    title: CheckoutLatencyHigh on checkout",
        "    category: performance (categories[1])",
        "    service: checkout",
        "    impact: medium (categories[1]), urgency: high (categories[1]) -> priority P2",
        "    SLA: acknowledge within 15m (warn at 11m15s); resolve within 4h (warn at 3h)",
        "    SLA escalation: none",
        "    support hours: none (pages at any time)",
        "    team: payments (service checkout)",
        "    components: checkout, card-payments",
        "    tasks: -",
        "    runbook: https://wiki.larkspur.example/runbooks/checkout-latency",
        "  routing (children in order; first match wins unless continue):",
        "    route [{}]: match",
        "      route.routes[0] [checkout-latency-for-web]: match, continue",
        "      route.routes[1] [payments]: match",
        '        route.routes[1].routes[0] [payments-database]: no (alertname=~"Postgres.*" '
        "does not match)",
        "  incidents (2, one per matched route):",
        "    route.routes[0] [checkout-latency-for-web]",
        '      group key: checkout-latency-for-web:{alertname="CheckoutLatencyHigh",'
        'service="checkout"}',
        "      group_wait 30s, group_interval 5m, reopen_window 1h",
        "      escalation policy: web (from the route at route.routes[0]), repeat 2",
        "      would page (after group_wait, until someone acknowledges):",
        "        at +0s: schedule web-weekly",
        "        at +10m: team web, channel slack",
        "        at +25m: person hana",
        "    route.routes[1] [payments]",
        '      group key: payments:{alertname="CheckoutLatencyHigh",cluster="eu1"}',
        "      group_wait 15s, group_interval 5m, reopen_window 1h",
        "      escalation policy: payments (from the route at route.routes[1]), repeat 3",
        "      would page (after group_wait, until someone acknowledges):",
        "        at +0s: schedule payments-follow-the-sun, channel incident-bot",
        "        at +5m: team payments",
        "        at +15m: person hana",
    ]
    assert explanation.splitlines() == expected


def test_explain_in_json_shows_an_active_maintenance_window(tmp_path: Path) -> None:
    alert = tmp_path / "alerts.json"
    db_alert = {
        "labels": {
            "alertname": "PostgresDown",
            "service": "checkout",
            "team": "payments",
            "severity": "critical",
        }
    }
    alert.write_text(json.dumps([ALERT, db_alert]))
    out = io.StringIO()
    sunday_3_10 = datetime(2026, 3, 8, 2, 10, tzinfo=UTC)
    assert run_check(EXAMPLES, "json", alert, env=EXAMPLE_ENV, now=sunday_3_10, out=out) == 0
    first, second = json.loads(out.getvalue())["explain"]
    assert (first["priority"], first["muted_now"]) == ("P2", False)
    assert [i["policy"] for i in first["incidents"]] == ["web", "payments"]
    assert second["muted_now"] is True
    assert second["mutes"][0]["name"] == "sunday-db-patching"
    assert second["incidents"][0]["group_key"] == (
        'payments-database:{alertname="PostgresDown",service="checkout",'
        'severity="critical",team="payments"}'
    )
    assert second["priority"] == "P1"
    assert second["tasks"] == [
        "Check replication lag on pg-main",
        "Check disk space on the primary",
    ]
    assert second["sla"]["acknowledge"] == {"within_seconds": 300.0, "warn_at_seconds": [180.0]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Not JSON.
        ("{labels", "cannot read"),
        # No labels.
        ('{"annotations": {}}', 'the alert has no "labels"'),
        # Labels that are not strings.
        ('{"labels": {"a": 1}}', '"labels" must map names to string values'),
        # An empty list.
        ("[]", "the list holds no alerts"),
    ],
)
def test_explain_with_a_bad_alert_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(content)
    assert main(["check", str(EXAMPLES), "--explain", str(alert)]) == 2
    assert message in capsys.readouterr().err


def test_explain_runs_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(ALERT))
    assert main(["check", str(EXAMPLES), "--explain", str(alert)]) == 0
    assert "escalation policy: payments (from the route at route.routes[1]), repeat 3" in (
        capsys.readouterr().out
    )


def test_explain_shows_a_policy_from_the_catalogue_for_the_documented_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # docs/examples/checkout-down.json: only `service: checkout`, so no route below the
    # root matches; the catalogue's owner of checkout, payments, supplies the policy.
    example = EXAMPLES.parents[1] / "docs" / "examples" / "checkout-down.json"
    assert main(["check", str(EXAMPLES), "--explain", str(example), "--format", "json"]) == 0
    [incident] = json.loads(capsys.readouterr().out)["explain"][0]["incidents"]
    assert (incident["route"], incident["policy"]) == ("route", "payments")
    assert (incident["policy_source"], incident["policy_from"]) == ("team", "team payments")
    assert incident["paging_built"] is False
