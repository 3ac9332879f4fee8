"""A Slack channel's ``signing_secret`` (interactivity) and its webhook URL: read from a
file or the environment; a wrong one is reported at its file, line and key (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.channels import SlackConfig
from rules.loader import load_rules
from tests.rules.helpers import BASE, BASE_ENV, assert_reported, problems

GOOD = "0123456789abcdef" * 2  # the shape of a Slack signing secret


def _channel(secret_line: str) -> str:
    return (
        "channels:\n"
        "  - name: ops-room\n"
        "    slack:\n"
        "      webhook_url: {file: url}\n"
        f"      signing_secret: {secret_line}  #<\n"
    )


def _load(tmp_path: Path, text: str, url: str, secret: str = GOOD) -> SlackConfig:
    (tmp_path / "url").write_text(url + "\n", encoding="utf-8")
    (tmp_path / "signing").write_text(secret + "\n", encoding="utf-8")
    (tmp_path / "00-base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "case.yml").write_text(text, encoding="utf-8")
    config = load_rules(tmp_path, BASE_ENV).channels["ops-room"].config
    assert isinstance(config, SlackConfig)
    return config


def test_a_signing_secret_from_a_file_is_read_and_kept(tmp_path: Path) -> None:
    config = _load(tmp_path, _channel("{file: signing}"), "https://hooks.slack.example/x")
    assert config.signing_secret is not None
    assert config.signing_secret.value == GOOD


def test_no_signing_secret_means_no_buttons(tmp_path: Path) -> None:
    text = _channel("x").replace("      signing_secret: x  #<\n", "")
    config = _load(tmp_path, text, "https://hooks.slack.example/x")
    assert config.signing_secret is None


@pytest.mark.parametrize(
    "url",
    [
        # A local stand-in for Slack (the README's worked example, the tests' receiver).
        "http://127.0.0.1:9099/slack",
        "http://localhost:9099/slack",
        "http://[::1]:9099/slack",
    ],
)
def test_http_is_accepted_to_this_host_only(tmp_path: Path, url: str) -> None:
    text = _channel("x").replace("      signing_secret: x  #<\n", "")
    assert _load(tmp_path, text, url).webhook_url.value == url


@pytest.mark.parametrize(
    "url",
    [
        # Plain http to another host would send the credential (the URL) in the clear.
        "http://hooks.slack.com/services/T/B/x",
        # A host that only starts like a loopback name.
        "http://127.0.0.1.example.com/x",
        "ftp://127.0.0.1/x",
    ],
)
def test_other_urls_are_reported_without_their_value(tmp_path: Path, url: str) -> None:
    (tmp_path / "url").write_text(url + "\n", encoding="utf-8")
    text = "channels:\n  - name: ops-room\n    slack:\n      webhook_url: {file: url}  #<\n"
    assert_reported(tmp_path, text, "channels[0].slack.webhook_url", "is not an https:// URL")
    assert all(url not in p.message for p in problems(tmp_path, text))


@pytest.mark.parametrize(
    "value",
    [
        # A bot token pasted instead of the signing secret.
        "xoxb-1234-5678-abcdefabcdef",
        # Slack's old verification token (24 letters and digits), not the signing secret.
        "AbCdEfGhIjKlMnOpQrStUvWx",
        # Hexadecimal but too short.
        "0123456789abcdef",
    ],
)
def test_a_wrong_signing_secret_is_reported_without_its_value(tmp_path: Path, value: str) -> None:
    (tmp_path / "url").write_text("https://hooks.slack.example/x\n", encoding="utf-8")
    (tmp_path / "signing").write_text(value + "\n", encoding="utf-8")
    text = _channel("{file: signing}")
    key = "channels[0].slack.signing_secret"
    assert_reported(tmp_path, text, key, "is not a Slack signing secret")
    assert_reported(tmp_path, text, key, "file:")
    assert all(value not in p.message for p in problems(tmp_path, text))


def test_an_inline_signing_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://hooks.slack.example/x\n", encoding="utf-8")
    text = _channel(GOOD)
    key = "channels[0].slack.signing_secret"
    assert_reported(tmp_path, text, key, "secrets are not written inline")


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://hooks.slack.example/x\n", encoding="utf-8")
    text = (
        "channels:\n"
        "  - name: ops-room\n"
        "    slack:\n"
        "      webhook_url: {file: url}\n"
        "      signing_secert: {file: signing}  #<\n"
    )
    found = problems(tmp_path, text)
    assert any("signing_secert" in p.key or "signing_secert" in p.message for p in found), found


def test_a_team_id_names_the_workspace(tmp_path: Path) -> None:
    text = _channel("{file: signing}") + "      team_id: T024BE7LH\n"
    config = _load(tmp_path, text, "https://hooks.slack.example/x")
    assert config.team_id == "T024BE7LH"
    no_team = _load(tmp_path, _channel("{file: signing}"), "https://hooks.slack.example/x")
    assert no_team.team_id is None


@pytest.mark.parametrize("value", ["larkspur", "U024BE7LH", "t024be7lh"])
def test_a_team_id_that_is_not_a_workspace_id_is_reported(tmp_path: Path, value: str) -> None:
    (tmp_path / "url").write_text("https://hooks.slack.example/x\n", encoding="utf-8")
    (tmp_path / "signing").write_text(GOOD + "\n", encoding="utf-8")
    text = (
        "channels:\n"
        "  - name: ops-room\n"
        "    slack:\n"
        "      webhook_url: {file: url}\n"
        "      signing_secret: {file: signing}\n"
        f"      team_id: {value}  #<\n"
    )
    assert_reported(tmp_path, text, "channels[0].slack.team_id", "is not a Slack workspace id")
