"""The example rules' notification texts give a person no link they cannot use (review 11
finding 7): ``incident.url`` is the incident in the API (a 401 in a browser), so no
example template shows it, least of all as "Acknowledge"; Slack presses are matched by
user id in the example's workspace (finding 4)."""

from __future__ import annotations

import re

import pytest

from escalation.email_message import channel_templates, template_values
from rules.channels import SlackConfig
from rules.model import Rules
from tests.rules.helpers import load_examples

API_URL = "https://tocsin.example/api/v1/incidents/inc-0001"
ENTRY = {
    "incident": "inc-0001",
    "title": "PostgresReplicationLag",
    "state": "triggered",
    "priority": "P3",
    "service": None,
    "category": "database",
    "annotations": {"summary": "replica 40s behind"},
    "alert_count": 1,
}


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_examples()


def test_no_example_text_shows_the_api_url(rules: Rules) -> None:
    values = template_values(ENTRY, API_URL, "Ana Lima")
    for channel in rules.channels.values():
        templates = channel_templates(channel, rules)
        for template in (templates.subject, templates.body):
            text = template.render(values, "-")
            assert "/api/" not in text, (channel.name, text)
            assert "Acknowledge" not in text, (channel.name, text)
            assert "inc-0001" in text or template is templates.subject


def test_slack_contacts_are_user_ids_in_one_workspace(rules: Rules) -> None:
    config = rules.channels["slack"].config
    assert isinstance(config, SlackConfig)
    assert config.team_id is not None
    assert re.fullmatch(r"T[A-Z0-9]+", config.team_id)
    addresses = [
        contact.address
        for person in rules.people.values()
        for contact in person.contacts
        if contact.channel == "slack"
    ]
    assert addresses
    assert all(re.fullmatch(r"[UW][A-Z0-9]+", a) for a in addresses), addresses
