"""Silences as data: matcher text that parses back to the same matcher."""

from __future__ import annotations

import pytest

from core.silence import LabelMatcher
from rules.matchers import parse_matcher


@pytest.mark.parametrize(
    "matcher",
    [
        # A regex with a backslash class.
        LabelMatcher("instance", "=~", r"db\d+:9100"),
        # A value with a quote in it.
        LabelMatcher("summary", "=", 'disk "data" full'),
        # A value spanning two lines.
        LabelMatcher("summary", "!=", "a\nb"),
    ],
)
def test_matcher_text_parses_back_to_the_same_matcher(matcher: LabelMatcher) -> None:
    parsed = parse_matcher(str(matcher))
    assert (parsed.name, parsed.type.value, parsed.value) == (
        matcher.name,
        matcher.op,
        matcher.value,
    )
