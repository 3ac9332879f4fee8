"""docs/rules.md documents every section, lists each in its contents, and promises nothing
that is not built (issue 9, item 27)."""

from __future__ import annotations

import re
from pathlib import Path

from rules.loader import LIST_SECTIONS, SINGLE_SECTIONS

RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def _text() -> str:
    return RULES_MD.read_text(encoding="utf-8")


def test_every_section_has_a_heading_and_a_line_in_the_contents() -> None:
    text = _text()
    contents = text[: text.index("\n## ")]
    headings = re.findall(r"^### `(\w+)`$", text, flags=re.MULTILINE)
    linked = re.findall(r"\[`(\w+)`\]\(#(\w+)\)", contents)
    assert sorted(headings) == sorted(set(LIST_SECTIONS) | set(SINGLE_SECTIONS))
    assert [name for name, _ in linked] == headings  # in the order of the document
    assert all(name == anchor for name, anchor in linked)


def test_every_section_is_named_as_a_list_or_a_single_section() -> None:
    text = _text()
    lists = text[text.index("**List sections**") : text.index("**Single sections**")]
    singles = text[text.index("**Single sections**") : text.index("**Names**")]
    assert set(re.findall(r"`(\w+)`", lists)) == set(LIST_SECTIONS)
    assert set(re.findall(r"`(\w+)`", singles)) == set(SINGLE_SECTIONS)


def test_no_command_or_paging_is_promised_that_does_not_exist() -> None:
    text = _text()
    assert "not built yet" not in text.lower()
