"""Matchers behave as Alertmanager's: four operators, anchored regexes, absent = empty."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import re2

from rules.matchers import MatchType, parse_matcher
from rules.regex import _matcher

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


def test_nested_quantifiers_match_in_linear_time() -> None:
    # With backtracking, (a+)+b against 40 a's tries about 2**40 ways to split them:
    # hours. RE2 answers at once; this test would hang on Python's re.
    matcher = parse_matcher('instance=~"(a+)+b"')
    assert matcher.matches({"instance": "a" * 40}) is False
    assert matcher.matches({"instance": "a" * 40 + "b"}) is True


GO_SYNTAX = [
    # POSIX classes inside brackets are Go syntax; Python's re reads [[:digit:]] as a set.
    ('v=~"[[:digit:]]+"', "123", True),
    # Unicode classes (\pL) are Go syntax; Python's re rejects \p.
    ('v=~"\\\\pL+"', "ünïcödé", True),
    # \d is ASCII-only in Go; Python's re matches the Arabic-Indic five too.
    ('v=~"\\\\d"', "\u0665", False),
    # \z is Go's end of text; Python's re (before 3.14) rejects it.
    ('v=~"a\\\\z"', "a", True),
    # . does not match a newline, and the anchoring leaves no room for a trailing one.
    ('v=~"a.b"', "a\nb", False),
    ('v=~"abc"', "abc\n", False),
    # (?s) lets . match a newline, as in Go.
    ('v=~"(?s)a.b"', "a\nb", True),
    # Go's named groups, both spellings.
    ('v=~"(?P<x>a)(?<y>b)"', "ab", True),
]


@pytest.mark.parametrize(("text", "value", "expected"), GO_SYNTAX)
def test_regexes_have_gos_syntax(text: str, value: str, expected: bool) -> None:
    assert parse_matcher(text).matches({"v": value}) is expected


PYTHON_ONLY = [
    # Lookahead needs backtracking: neither RE2 nor Go has it.
    ('v=~"(?=a)a"', "invalid perl operator"),
    # Lookbehind, likewise.
    ('v=~"(?<=a)b"', "invalid perl operator"),
    # Backreferences, likewise.
    ('v=~"(a)\\\\1"', "invalid escape"),
    # \Z is Python's end of text; Go writes \z.
    ('v=~"a\\\\Z"', "invalid escape"),
    # RE2 accepts \C (one byte); Go does not.
    ('v=~"a\\\\C"', "invalid escape"),
    # Repetition counts above 1000 are refused by Go and RE2 alike.
    ('v=~"a{1001}"', "invalid repetition"),
]


@pytest.mark.parametrize(("text", "reason"), PYTHON_ONLY)
def test_constructs_go_lacks_are_rejected_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a valid regular expression") as caught:
        parse_matcher(text)
    assert reason in str(caught.value)


@pytest.mark.parametrize(("text", "value", "expected"), GO_SYNTAX)
def test_the_public_re2_call_agrees_with_the_fast_one(
    text: str, value: str, expected: bool
) -> None:
    # rules.regex calls the compiled pattern's own Match and falls back to google-re2's
    # public fullmatch if a release renames it: both must give the same answers.
    pattern = parse_matcher(text).pattern
    assert pattern is not None
    public = SimpleNamespace(fullmatch=re2.compile(pattern.pattern).fullmatch)
    assert _matcher(public)(value) is expected
