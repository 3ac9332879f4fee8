"""Helpers for the rules tests: write rules to files, load them, find problems."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.errors import RuleError, RuleProblem
from rules.loader import load_rules
from rules.model import Rules

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"
EXAMPLE_ENV = {
    "TOCSIN_ALERTMANAGER_TOKEN": "example-alertmanager-token",
    "TOCSIN_PROMETHEUS_PASSWORD": "example-prometheus-password",
    "TOCSIN_WEBHOOK_TOKEN": "example-webhook-token",
    "TOCSIN_PAGERDUTY_ROUTING_KEY": "example0routing0key0000000000000",
}
ENV = {"TOKEN": "secret-token", "EMPTY": ""}

# A valid file that the error cases sit next to: a channel, two people and a team.
BASE = """\
channels:
  - name: mail
    email: {smtp_host: localhost, from: tocsin@example.com, security: none}
  - name: chat
    slack: {webhook_url: {env: SLACK_URL}}
people:
  - name: ana
    contacts: [{channel: mail, address: ana@example.com}]
  - name: ben
    contacts: [{channel: chat}]
teams:
  - {name: ops, members: [ana, ben]}
"""
BASE_ENV = {**ENV, "SLACK_URL": "https://chat.example.com/hooks/x"}


def load_text(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Rules:
    """Writes ``text`` as rules.yml and loads it."""
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path, ENV if env is None else env)


def load_with_base(tmp_path: Path, text: str) -> Rules:
    """Loads ``text`` as case.yml in a directory next to the BASE file."""
    (tmp_path / "00-base.yml").write_text(BASE, encoding="utf-8")
    (tmp_path / "case.yml").write_text(text, encoding="utf-8")
    return load_rules(tmp_path, BASE_ENV)


def problems(tmp_path: Path, text: str) -> list[RuleProblem]:
    """Returns the problems of ``text`` loaded next to BASE (fails if it loads)."""
    try:
        load_with_base(tmp_path, text)
    except RuleError as exc:
        return list(exc.problems)
    raise AssertionError("the rules loaded without problems")


def copy_examples(target: Path) -> Path:
    """Copies the example rules (with their secret files) to ``target``; returns it."""
    shutil.copytree(EXAMPLES, target, dirs_exist_ok=True)
    return target


def load_examples() -> Rules:
    """Loads the example rule set with the environment ``make run`` sets."""
    return load_rules(EXAMPLES, EXAMPLE_ENV)


def assert_reported(tmp_path: Path, text: str, key: str, message: str) -> None:
    """Asserts that loading ``text`` reports ``message`` at the line marked ``#<`` and ``key``."""
    expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if "#<" in line)
    found = problems(tmp_path, text)
    assert [(p.file, p.line, p.key) for p in found if message in p.message] == [
        (str(tmp_path / "case.yml"), expected_line, key)
    ], found
