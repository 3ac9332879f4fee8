"""The ``apprise`` channel kind: Apprise URLs inline or as secrets, each mistake reported at
its file, line and key, a secret's value never in a message (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules.channels import AppriseConfig, ChannelKind
from rules.loader import load_rules
from tests.rules.helpers import BASE, BASE_ENV, assert_reported, problems


def _channel(urls: str, extra: str = "") -> str:
    return f"channels:\n  - name: room\n    apprise:\n      urls: {urls}\n{extra}"


def _load(tmp_path: Path, text: str) -> AppriseConfig:
    (tmp_path / "00-base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "case.yml").write_text(text, encoding="utf-8")
    channel = load_rules(tmp_path, {**BASE_ENV, "TEAMS_URL": "msteams://a/b/c"}).channels["room"]
    assert channel.kind is ChannelKind.APPRISE
    assert isinstance(channel.config, AppriseConfig)
    return channel.config


def test_urls_inline_from_a_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "tgram").write_text("tgram://123456789:abcdefg/-100123\n", encoding="utf-8")
    text = _channel("[json://127.0.0.1:9099/hook, {file: tgram}, {env: TEAMS_URL}]")
    config = _load(tmp_path, text + "      timeout: 3s\n")
    assert [u.value for u in config.urls] == [
        "json://127.0.0.1:9099/hook",
        "tgram://123456789:abcdefg/-100123",
        "msteams://a/b/c",
    ]
    assert [u.origin for u in config.urls][1:] == [f"file:{tmp_path / 'tgram'}", "env:TEAMS_URL"]
    assert config.timeout == timedelta(seconds=3)


def test_the_default_timeout(tmp_path: Path) -> None:
    assert _load(tmp_path, _channel("[ntfy://alerts]")).timeout == timedelta(seconds=10)


@pytest.mark.parametrize(
    ("urls", "key", "message"),
    [
        # Not a URL at all.
        ("[not a url]  #<", "channels[0].apprise.urls[0]", "is not an Apprise URL"),
        # A number where a URL belongs.
        ("[ntfy://a, 42]  #<", "channels[0].apprise.urls[1]", "must be a string"),
        # No URL.
        ("[]  #<", "channels[0].apprise.urls", "give 1 to 20 Apprise URLs"),
        # Not a list.
        ("ntfy://a  #<", "channels[0].apprise.urls", "must be a list"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, urls: str, key: str, message: str) -> None:
    assert_reported(tmp_path, _channel(urls), key, message)


def test_unknown_keys_and_missing_urls(tmp_path: Path) -> None:
    text = "channels:\n  - name: room\n    apprise: {url: ntfy://a}  #<\n"
    assert_reported(tmp_path, text, "channels[0].apprise.url", "did you mean 'urls'?")
    assert_reported(tmp_path, text, "channels[0].apprise.urls", "is required")


def test_a_bad_secret_value_is_not_shown(tmp_path: Path) -> None:
    (tmp_path / "hook").write_text("s3cret-token-without-scheme\n", encoding="utf-8")
    text = _channel("[{file: hook}]  #<")
    assert_reported(tmp_path, text, "channels[0].apprise.urls[0]", "is not an Apprise URL")
    assert all("s3cret" not in p.message for p in problems(tmp_path, text))
