"""A webhook channel's ``signing_secret``: a Standard Webhooks secret read from a file or
the environment; a wrong one is reported at its file, line and key (issue 11)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rules.channels import WebhookConfig
from rules.loader import load_rules
from tests.rules.helpers import BASE, BASE_ENV, assert_reported, problems

GOOD = "whsec_" + base64.b64encode(b"k" * 32).decode()


def _channel(secret_line: str) -> str:
    return (
        "channels:\n"
        "  - name: hook\n"
        "    webhook:\n"
        "      url: http://127.0.0.1:9099/\n"
        f"      signing_secret: {secret_line}  #<\n"
    )


def _write_secret(tmp_path: Path, value: str) -> None:
    (tmp_path / "signing").write_text(value + "\n", encoding="utf-8")


def test_a_secret_from_a_file_is_read_and_kept(tmp_path: Path) -> None:
    _write_secret(tmp_path, GOOD)
    (tmp_path / "00-base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "case.yml").write_text(_channel("{file: signing}"), encoding="utf-8")
    config = load_rules(tmp_path, BASE_ENV).channels["hook"].config
    assert isinstance(config, WebhookConfig)
    assert config.signing_secret is not None
    assert config.signing_secret.value == GOOD


def test_no_secret_means_unsigned(tmp_path: Path) -> None:
    (tmp_path / "00-base.yml").write_text(BASE, encoding="utf-8")
    text = _channel("x").replace("      signing_secret: x  #<\n", "")
    (tmp_path / "case.yml").write_text(text, encoding="utf-8")
    config = load_rules(tmp_path, BASE_ENV).channels["hook"].config
    assert isinstance(config, WebhookConfig)
    assert config.signing_secret is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # Not a Standard Webhooks secret at all (a plain password).
        ("hunter2hunter2hunter2hunter2", "does not start with whsec_"),
        # The prefix, then something that is not base64.
        ("whsec_not*base64!", "is not whsec_ followed by base64"),
        # Too short to be a key (the spec asks for 24 to 64 bytes).
        ("whsec_" + base64.b64encode(b"short").decode(), "decodes to 5 bytes"),
    ],
)
def test_a_wrong_secret_is_reported_without_its_value(
    tmp_path: Path, value: str, message: str
) -> None:
    _write_secret(tmp_path, value)
    text = _channel("{file: signing}")
    assert_reported(tmp_path, text, "channels[0].webhook.signing_secret", message)
    assert_reported(tmp_path, text, "channels[0].webhook.signing_secret", "file:")
    assert all(value not in p.message for p in problems(tmp_path, text))


def test_an_inline_secret_is_refused(tmp_path: Path) -> None:
    text = _channel(GOOD)
    assert_reported(
        tmp_path, text, "channels[0].webhook.signing_secret", "secrets are not written inline"
    )
