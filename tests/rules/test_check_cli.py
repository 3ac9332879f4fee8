"""``tocsin check``: summary, problems, JSON, exit codes and ``--explain``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

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


def test_json_for_valid_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["valid"] is True
    assert document["summary"]["teams"] == {"count": 2, "detail": "web, payments"}
    assert document["warnings"] == []


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
        "      escalation policy: web (repeat 2)",
        "        at +0s: schedule web-weekly",
        "        at +10m: team web, channel slack",
        "        at +25m: person hana",
        "    route.routes[1] [payments]",
        '      group key: payments:{alertname="CheckoutLatencyHigh",cluster="eu1"}',
        "      group_wait 15s, group_interval 5m, reopen_window 1h",
        "      escalation policy: payments (repeat 3)",
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
    assert "escalation policy: payments (repeat 3)" in capsys.readouterr().out
