"""The example rule set (rules/examples) is a realistic small company using every feature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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


def test_muting_inhibition_silence_and_both_kinds_of_maintenance(rules: Rules) -> None:
    assert len(rules.inhibit_rules) == 1
    assert len(rules.silences) == 1
    windows = rules.maintenance_windows
    assert {bool(w.weekly) for w in windows} == {True, False}
    sunday_3am = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    assert rules.maintenance_for({"service": "checkout", "alertname": "PostgresDown"}, sunday_3am)


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
