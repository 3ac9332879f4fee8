"""Matchers behave as Alertmanager's: four operators, anchored regexes, absent = empty."""

from __future__ import annotations

import pytest

from rules.matchers import MatchType, parse_matcher

LABELS = {"alertname": "DiskFull", "severity": "critical", "env": "prod", "empty": ""}

CASES = [
    # Equality on a present label.
    ('severity="critical"', True),
    # Equality is exact, not a prefix.
    ('severity="crit"', False),
    # An unquoted value is allowed, as in Alertmanager's matchers lists.
    ("env=prod", True),
    # Inequality.
    ('env!="staging"', True),
    # A regex must match the whole value: anchored as ^(?:re)$.
    ('alertname=~"Disk"', False),
    # ... so a prefix needs .* explicitly.
    ('alertname=~"Disk.*"', True),
    # Alternation stays inside the anchors: "Full|Disk" does not match "DiskFull".
    ('alertname=~"Full|Disk"', False),
    # A negative regex.
    ('severity!~"warning|info"', True),
    # An absent label has the empty value: = "" matches it.
    ('team=""', True),
    # ... and != "" does not.
    ('team!=""', False),
    # ... and a regex that accepts the empty string matches it.
    ('team=~".*"', True),
    # ... and one that does not accept it fails.
    ('team=~".+"', False),
    # A label present with an empty value is the same as absent.
    ('empty=""', True),
    # Escaped quotes inside a quoted value.
    ('alertname!="Disk\\"Full"', True),
    # Inline flags work at the start, as in Go's RE2.
    ('severity=~"(?i)CRITICAL"', True),
    # Spaces around the operator are allowed.
    ('severity = "critical"', True),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_matcher_semantics(text: str, expected: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is expected


def test_matcher_prints_back_in_alertmanager_syntax() -> None:
    matcher = parse_matcher('alertname=~"A\\"B"')
    assert (matcher.type, matcher.value, str(matcher)) == (
        MatchType.REGEX,
        'A"B',
        'alertname=~"A\\"B"',
    )


def test_regex_is_compiled_once_at_parse_time() -> None:
    matcher = parse_matcher('job=~"node|blackbox"')
    assert matcher.pattern is not None
    assert matcher.pattern.pattern == "node|blackbox"


BAD = [
    # No operator at all.
    "alertname",
    # A label name may not start with a digit.
    '1abc="x"',
    # The closing quote is missing.
    'a="x',
    # Half-quoted values are ambiguous.
    'a=x"y"',
    # An unknown escape.
    'a="\\t"',
    # A regex that does not compile.
    'a=~"(x"',
    # A value ending in a group close cannot break out of the anchoring group.
    'a=~"x)|(y"',
]


@pytest.mark.parametrize("text", BAD)
def test_malformed_matchers_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_matcher(text)
