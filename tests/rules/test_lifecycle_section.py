"""The ``lifecycle`` section: resolution codes and the auto-close delay, mistakes located."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.lifecycle import DEFAULT_AUTO_CLOSE_AFTER, DEFAULT_RESOLUTION_CODES, LifecyclePolicy
from tests.rules.helpers import assert_reported, load_examples, load_text, problems


def test_without_the_section_the_defaults_are_servicenow_s(tmp_path: Path) -> None:
    rules = load_text(tmp_path, "sources: []\n")
    assert rules.lifecycle == LifecyclePolicy()
    assert rules.lifecycle.resolution_codes == (
        "solved_permanently",
        "solved_workaround",
        "not_reproducible",
        "too_costly",
        "resolved_by_caller",
        "duplicate",
    )
    assert rules.lifecycle.auto_close_after == timedelta(days=7)
    assert load_examples().lifecycle.resolution_codes  # the examples load with it


def test_codes_and_delay_are_read(tmp_path: Path) -> None:
    rules = load_text(
        tmp_path,
        "lifecycle:\n  resolution_codes: [fixed, workaround, false_alarm]\n"
        "  auto_close_after: 3d\n",
    )
    assert rules.lifecycle == LifecyclePolicy(
        ("fixed", "workaround", "false_alarm"), timedelta(days=3)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Only the codes: the delay keeps its default.
        pytest.param(
            "lifecycle: {resolution_codes: [fixed]}\n",
            LifecyclePolicy(("fixed",), DEFAULT_AUTO_CLOSE_AFTER),
            id="codes-only",
        ),
        # Only the delay, 0s turning auto-close off: the codes keep theirs.
        pytest.param(
            "lifecycle: {auto_close_after: 0s}\n",
            LifecyclePolicy(DEFAULT_RESOLUTION_CODES, timedelta(0)),
            id="never",
        ),
    ],
)
def test_each_key_is_optional(tmp_path: Path, text: str, expected: LifecyclePolicy) -> None:
    assert load_text(tmp_path, text).lifecycle == expected


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        # A key the section does not have.
        pytest.param(
            "lifecycle:\n  close_after: 3d  #<\n",
            "lifecycle.close_after",
            "unknown key",
            id="unknown-key",
        ),
        # No code to choose from.
        pytest.param(
            "lifecycle:\n  resolution_codes: []  #<\n",
            "lifecycle.resolution_codes",
            "at least one",
            id="empty",
        ),
        # A code twice.
        pytest.param(
            "lifecycle:\n  resolution_codes:\n    - fixed\n    - fixed  #<\n",
            "lifecycle.resolution_codes[1]",
            "also listed at lifecycle.resolution_codes[0]",
            id="twice",
        ),
        # A code that is no name.
        pytest.param(
            "lifecycle:\n  resolution_codes:\n    - Solved (Permanently)  #<\n",
            "lifecycle.resolution_codes[0]",
            "not a valid name",
            id="not-a-name",
        ),
        # Not a list.
        pytest.param(
            "lifecycle:\n  resolution_codes: fixed  #<\n",
            "lifecycle.resolution_codes",
            "must be a list",
            id="not-a-list",
        ),
        # Not a duration.
        pytest.param(
            "lifecycle:\n  auto_close_after: 7 days  #<\n",
            "lifecycle.auto_close_after",
            "is not a duration",
            id="duration",
        ),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, key: str, message: str) -> None:
    assert_reported(tmp_path, text, key, message)


def test_the_section_is_written_once(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("lifecycle: {auto_close_after: 1d}\n", encoding="utf-8")
    text = "lifecycle: {auto_close_after: 2d}\n"
    found = problems(tmp_path, text)
    assert [(p.key, "also defined at" in p.message) for p in found] == [("lifecycle", True)]
