"""Label matchers in Alertmanager's syntax: ``name="value"``, ``!=``, ``=~``, ``!~``.

As in Alertmanager, a label that is absent has the empty string as its value, and a
regular expression must match the whole value (it is anchored as ``^(?:re)$``). Regular
expressions have Go's syntax and RE2's linear-time matching (see ``rules.regex``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.regex import GoRegex

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)
_MATCHER = re.compile(r"\s*(?P<name>[^\s=!~\"]+)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*", re.S)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class MatchType(enum.StrEnum):
    """How a matcher compares a label's value."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label; ``pattern`` is compiled once, when the rules load."""

    name: str
    type: MatchType
    value: str
    pattern: GoRegex | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tells whether the label set satisfies this matcher (absent means empty)."""
        actual = labels.get(self.name, "")
        if self.type is MatchType.EQUAL:
            return actual == self.value
        if self.type is MatchType.NOT_EQUAL:
            return actual != self.value
        assert self.pattern is not None  # set for both regex types by parse_matcher
        found = self.pattern.fullmatch(actual)
        return found if self.type is MatchType.REGEX else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.type.value}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parses one matcher such as ``severity=~"critical|page"``; raises ValueError.

    A regular expression that RE2 (and so Go's regexp) cannot compile is a ValueError
    naming the pattern and the reason, e.g. a lookahead ``(?=``.
    """
    found = _MATCHER.fullmatch(text)
    if found is None:
        raise ValueError(f'{text!r} is not a matcher (write e.g. severity="critical")')
    name = found.group("name")
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid label name")
    kind = MatchType(found.group("op"))
    value = _unquote(found.group("value"))
    pattern = None
    if kind in (MatchType.REGEX, MatchType.NOT_REGEX):
        # A whole-value match gives Alertmanager's ^(?:re)$ anchoring without rewriting
        # the pattern, so a leading (?i) still works and "a)|(b" cannot escape the group.
        pattern = GoRegex(value)
    return Matcher(name, kind, value, pattern)


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Tells whether every matcher matches; an empty list matches everything."""
    return all(m.matches(labels) for m in matchers)


def first_mismatch(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> Matcher | None:
    """Returns the first matcher that does not match, for explaining a decision."""
    return next((m for m in matchers if not m.matches(labels)), None)


def _unquote(raw: str) -> str:
    if not raw.startswith('"'):
        if '"' in raw:
            raise ValueError(f"{raw!r}: quote the whole value or none of it")
        return raw
    if len(raw) < 2 or not raw.endswith('"'):
        raise ValueError(f"{raw!r}: the closing quote is missing")
    body = raw[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == '"':
            raise ValueError(f'{raw!r}: escape quotes inside the value as \\"')
        if char == "\\":
            following = body[index + 1 : index + 2]
            if following not in _ESCAPES:
                raise ValueError(f"{raw!r}: unknown escape \\{following}")
            out.append(_ESCAPES[following])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)
