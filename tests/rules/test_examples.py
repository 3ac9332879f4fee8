"""The example rule set (rules/examples) is a realistic small company using every feature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import RuleError
from core.model import SourceKind
from core.settings import Settings
from rules.channels import ChannelKind
from rules.model import Rules
from rules.policies import TargetKind
from rules.routing import walk
from tests.rules.helpers import EXAMPLE_ENV, EXAMPLES, load_examples
from tocsin.app import create_app


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_examples()


def test_three_services_and_two_teams(rules: Rules) -> None:
    assert list(rules.services) == ["storefront", "search", "checkout"]
    assert list(rules.teams) == ["web", "payments"]
    assert {s.team for s in rules.services.values()} == {"web", "payments"}


def test_a_weekly_rotation_with_an_override(rules: Rules) -> None:
    web = rules.schedules["web-weekly"]
    [layer] = web.layers
    assert layer.rotation.length == timedelta(weeks=1)
    assert [o.person for o in web.overrides] == ["ben"]


def test_a_follow_the_sun_schedule_across_two_time_zones(rules: Rules) -> None:
    sun = rules.schedules["payments-follow-the-sun"]
    restricted = [layer for layer in sun.layers if layer.restrictions]
    assert {layer.time_zone.key for layer in restricted} == {"Europe/Berlin", "America/New_York"}
    # The New York shift runs past midnight local time.
    [night] = [layer for layer in restricted if layer.time_zone.key == "America/New_York"]
    assert night.restrictions[0].end < night.restrictions[0].start


def test_two_policies_all_target_kinds_and_repeats(rules: Rules) -> None:
    assert list(rules.escalation_policies) == ["web", "payments"]
    kinds = {
        t.kind
        for p in rules.escalation_policies.values()
        for level in p.levels
        for t in level.targets
    }
    assert kinds == set(TargetKind)
    assert all(p.repeat > 0 for p in rules.escalation_policies.values())


def test_routes_use_continue_nesting_and_group_by_all(rules: Rules) -> None:
    routes = walk(rules.route)
    assert rules.route.policy == "web"
    assert any(r.continue_matching for r in routes)
    assert any(r.routes for r in routes[1:])
    assert any(r.group_by_all for r in routes)
    both = rules.route_for({"alertname": "CheckoutLatencyHigh", "team": "payments"})
    assert [r.policy for r in both] == ["web", "payments"]


def test_the_catalogue_and_the_routes_agree_on_who_is_paged(rules: Rules) -> None:
    # (labels, policy, where it comes from): every alert about a service reaches the
    # policy of the team that owns it in the catalogue, unless a route says otherwise.
    cases = [
        # CheckoutDown names only its service: the owner of checkout, payments.
        ({"alertname": "CheckoutDown", "service": "checkout"}, ["payments"], ["team"]),
        # Slow checkouts: the web team by its route (continue), payments by theirs.
        (
            {"alertname": "CheckoutLatencyHigh", "service": "checkout", "team": "payments"},
            ["web", "payments"],
            ["route", "route"],
        ),
        # The storefront and search are the web team's.
        ({"alertname": "SiteDown", "service": "storefront"}, ["web"], ["team"]),
        ({"alertname": "IndexStale", "service": "search"}, ["web"], ["team"]),
        # Nothing in the catalogue: the root's default.
        ({"alertname": "NodeDown"}, ["web"], ["default"]),
    ]
    for labels, policies, sources in cases:
        decided = rules.categorise(labels)
        chosen = [rules.policy_for(route, decided) for route in rules.route_for(labels)]
        assert [c.policy for c in chosen] == policies, labels
        assert [c.source.value for c in chosen] == sources, labels
    for service in rules.services.values():
        assert service.team is not None
        assert rules.teams[service.team].policy in rules.escalation_policies


def test_muting_inhibition_silence_and_every_kind_of_maintenance(rules: Rules) -> None:
    assert len(rules.inhibit_rules) == 1
    assert len(rules.silences) == 1
    windows = rules.maintenance_windows
    assert [(bool(w.weekly), w.cron is not None, w.starts_at is not None) for w in windows] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    sunday_3am = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    assert rules.maintenance_for({"service": "checkout", "alertname": "PostgresDown"}, sunday_3am)
    vault_move = datetime(2027, 1, 17, 2, 30, tzinfo=UTC)  # 03:30 in Berlin
    assert [w.name for w in rules.maintenance_for({"service": "checkout"}, vault_move)] == [
        "vault-migration"
    ]


def test_channels_of_every_kind_with_secrets_from_env_and_files(rules: Rules) -> None:
    assert {c.kind for c in rules.channels.values()} == set(ChannelKind)
    assert {s.kind for s in rules.sources} == set(SourceKind)


def test_public_components_in_groups_with_public_text(rules: Rules) -> None:
    page = rules.status_page
    assert [c.name for c in page.components] == ["website", "search", "checkout", "card-payments"]
    assert {c.group for c in page.components} == {"shop", "payments"}
    text = page.templates.investigating.render({"components": ["Checkout"]})
    assert text.startswith("We are investigating problems with Checkout.")


def test_categorisation_and_sla_for_a_payment_outage(rules: Rules) -> None:
    result = rules.categorise({"alertname": "PaymentProviderDown", "provider": "acme"})
    assert (result.service, result.team, result.priority_name) == ("checkout", "payments", "P1")
    assert result.title == "Card payments failing (acme)"
    sla = rules.priority.sla_for(result.priority)
    assert sla is not None
    assert sla.acknowledge is not None
    assert sla.acknowledge.within == timedelta(minutes=5)


def test_make_run_serves_with_the_examples(tmp_path: Path) -> None:
    settings = Settings(rules=EXAMPLES, store=f"sqlite://{tmp_path / 'tocsin.db'}")
    app = create_app(settings, env=EXAMPLE_ENV)
    assert app is not None


def test_the_server_still_resolves_secrets_at_start(tmp_path: Path) -> None:
    # Unlike `tocsin check`, serve must have every secret: it authenticates with them.
    settings = Settings(rules=EXAMPLES, store=f"sqlite://{tmp_path / 'tocsin.db'}")
    without = {k: v for k, v in EXAMPLE_ENV.items() if k != "TOCSIN_WEBHOOK_TOKEN"}
    with pytest.raises(RuleError) as raised:
        create_app(settings, env=without)
    assert [p.key for p in raised.value.problems] == ["sources[2].auth.bearer_token.env"]


@pytest.mark.parametrize(
    ("labels", "title", "priority", "team"),
    [
        # A down target names its instance and, though critical, has no service: P2.
        (
            {"alertname": "TargetDown", "instance": "web-3:9100", "severity": "critical"},
            "TargetDown on web-3:9100",
            "P2",
            None,
        ),
        # The README's Alertmanager example: a full disk on db1.
        (
            {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"},
            "DiskFull on db1:9100",
            "P2",
            None,
        ),
        # A warning about one service ranks below the critical TargetDown: P3.
        (
            {"alertname": "TestAlert", "service": "storefront", "severity": "warning"},
            "TestAlert on storefront",
            "P3",
            "web",
        ),
        # PagerDuty's severities in order: error (P4) above warning (P5).
        ({"source": "db1.example", "severity": "error"}, "Alert", "P4", None),
        ({"source": "db1.example", "severity": "warning"}, "Alert", "P5", None),
        # The Prometheus watchdog's heartbeat: the web team's on purpose, P2 when critical.
        (
            {
                "alertname": "HeartbeatMissing",
                "heartbeat": "prometheus-watchdog",
                "severity": "critical",
            },
            "HeartbeatMissing: prometheus-watchdog",
            "P2",
            "web",
        ),
        # The nightly backup's: checkout's team, but a missed backup is not a P1.
        (
            {
                "alertname": "HeartbeatMissing",
                "heartbeat": "nightly-backup",
                "service": "checkout",
                "severity": "critical",
                "team": "payments",
            },
            "HeartbeatMissing: nightly-backup",
            "P2",
            "payments",
        ),
    ],
)
def test_titles_say_where_and_priorities_follow_severity(
    rules: Rules, labels: dict[str, str], title: str, priority: str, team: str | None
) -> None:
    result = rules.categorise(labels)
    assert (result.title, result.priority_name, result.team) == (title, priority, team)


def test_the_watchdog_heartbeat_pages_the_web_team_by_its_team_not_by_default(
    rules: Rules,
) -> None:
    labels = {"alertname": "HeartbeatMissing", "heartbeat": "prometheus-watchdog"}
    [route] = rules.route_for(labels)
    choice = rules.policy_for(route, rules.categorise(labels))
    assert (choice.policy, choice.source.value) == ("web", "team")


def test_host_alerts_are_one_incident_per_instance(rules: Rules) -> None:
    keys = {
        route.group_key(labels)
        for instance in ("web-1:9100", "web-2:9100")
        for labels in [{"alertname": "TargetDown", "instance": instance}]
        for route in rules.route_for(labels)
    }
    assert keys == {
        'hosts:{alertname="TargetDown",instance="web-1:9100"}',
        'hosts:{alertname="TargetDown",instance="web-2:9100"}',
    }
