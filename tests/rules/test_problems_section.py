"""The ``problems`` section: when recurring incidents become candidates, mistakes located."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.problem_candidates import ProblemRules, Recurrence
from tests.rules.helpers import assert_reported, load_examples, load_text, problems


def test_without_the_section_three_within_thirty_days(tmp_path: Path) -> None:
    rules = load_text(tmp_path, "sources: []\n")
    assert rules.problems == ProblemRules(Recurrence(3, timedelta(days=30)))
    # The examples write the defaults out.
    assert load_examples().problems == rules.problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Both keys.
        ("problems: {recurrence: {count: 5, within: 7d}}\n", Recurrence(5, timedelta(days=7))),
        # Only the count: the period keeps its default.
        ("problems: {recurrence: {count: 2}}\n", Recurrence(2, timedelta(days=30))),
        # Only the period: the count keeps its default.
        ("problems: {recurrence: {within: 12h}}\n", Recurrence(3, timedelta(hours=12))),
        # An empty section: the defaults.
        ("problems: {}\n", Recurrence()),
    ],
)
def test_each_key_is_optional(tmp_path: Path, text: str, expected: Recurrence) -> None:
    assert load_text(tmp_path, text).problems.recurrence == expected


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A key the section does not have.
        pytest.param(
            "problems:\n  candidates: {}  #<\n", "problems.candidates", "unknown key", id="key"
        ),
        # A key recurrence does not have.
        pytest.param(
            "problems:\n  recurrence:\n    times: 3  #<\n",
            "problems.recurrence.times",
            "unknown key",
            id="recurrence-key",
        ),
        # One incident does not recur.
        pytest.param(
            "problems:\n  recurrence:\n    count: 1  #<\n",
            "problems.recurrence.count",
            "at least 2",
            id="count",
        ),
        # Not a duration.
        pytest.param(
            "problems:\n  recurrence:\n    within: a month  #<\n",
            "problems.recurrence.within",
            "is not a duration",
            id="duration",
        ),
        # Longer than a year.
        pytest.param(
            "problems:\n  recurrence:\n    within: 400d  #<\n",
            "problems.recurrence.within",
            "at most 366d",
            id="too-long",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, message: str) -> None:
    assert_reported(tmp_path, text, key, message)


def test_the_section_is_written_once(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("problems: {}\n", encoding="utf-8")
    found = problems(tmp_path, "problems: {}\n")
    assert [(p.key, "also defined at" in p.message) for p in found] == [("problems", True)]
