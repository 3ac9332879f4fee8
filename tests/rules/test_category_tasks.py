"""The categories' ``tasks``: titles the operator API accepts, each error at file, line, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.helpers import assert_reported, load_text

CASES = [
    # A title over the API's 500 characters.
    pytest.param(
        "categories:\n  - matchers: []\n    tasks:\n      - ok\n      - '" + "x" * 501 + "'  #<\n",
        "categories[0].tasks[1]",
        "1 to 500 characters",
        id="too-long",
    ),
    # A blank title.
    pytest.param(
        "categories:\n  - matchers: []\n    tasks: ['  ']  #<\n",
        "categories[0].tasks[0]",
        "must not be empty",
        id="blank",
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), CASES)
def test_a_bad_task_title_is_reported_at_file_line_and_key(
    tmp_path: Path, text: str, key: str, message: str
) -> None:
    assert_reported(tmp_path, text, key, message)


def test_task_titles_are_kept_in_order_and_stripped(tmp_path: Path) -> None:
    rules = load_text(tmp_path, "categories:\n  - matchers: []\n    tasks: [' Check lag ', b]\n")
    assert rules.categories[0].tasks == ("Check lag", "b")
