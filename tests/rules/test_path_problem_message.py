"""A problem with the rules' path itself reads cleanly: no empty key between colons."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RuleError, RuleProblem
from rules.loader import load_rules
from tests.rules.helpers import ENV


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        # A problem of the whole file names no key: the message follows the place.
        (RuleProblem("/etc/tocsin/rules", 1, "", "no such file or directory"),
         "/etc/tocsin/rules:1: no such file or directory"),
        # A problem of one key keeps it between the place and the message.
        (RuleProblem("tocsin.yml", 10, "sources[0].name", "required"),
         "tocsin.yml:10: sources[0].name: required"),
    ],
)
def test_a_problem_reads_as_place_key_message(problem: RuleProblem, text: str) -> None:
    assert str(problem) == text


def test_a_missing_rules_path_is_said_without_an_empty_key(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(RuleError) as caught:
        load_rules(missing, ENV)
    assert str(caught.value) == f"{missing}:1: no such file or directory"
