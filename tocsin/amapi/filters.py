"""The query parameters of the alert endpoints, as Alertmanager reads them.

``active``, ``silenced``, ``inhibited`` and ``unprocessed`` are booleans, true unless
given (Go's ``strconv.ParseBool`` spellings); ``filter`` is any number of matchers in
Alertmanager's syntax, which must all hold; ``receiver`` is a regular expression that
one of the alert's receivers must match whole. Matchers and the receiver pattern have
RE2 semantics (``rules.matchers``), as Alertmanager's Go regexps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from multidict import MultiMapping

from core.errors import FieldProblem, InvalidFields
from rules.matchers import Matcher, MatchType, parse_matcher
from rules.regex import GoRegex
from tocsin.amapi.mutes import MuteStatus

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_NEGATIVE = (MatchType.NOT_EQUAL, MatchType.NOT_REGEX)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts a request wants (Alertmanager's ``alertFilter`` and receiver filter)."""

    active: bool = True
    silenced: bool = True
    inhibited: bool = True
    unprocessed: bool = True
    matchers: tuple[Matcher, ...] = ()
    receiver: GoRegex | None = None

    @property
    def wants_all(self) -> bool:
        """Tells whether every alert is shown (``unprocessed`` hides none of Tocsin's)."""
        return (
            self.active
            and self.silenced
            and self.inhibited
            and not self.matchers
            and self.receiver is None
        )

    def wants_status(self, status: MuteStatus) -> bool:
        """Tells whether an alert in this state is shown (Tocsin has no unprocessed ones)."""
        if not self.active and status.state == "active":
            return False
        if not self.silenced and status.silenced_by:
            return False
        return self.inhibited or not status.inhibited_by

    def wants_labels(self, labels: Mapping[str, str]) -> bool:
        """Alertmanager's ``matchFilterLabels``: an empty value matches an absent label."""
        return labels_match(self.matchers, labels)

    def wants_receivers(self, receivers: Iterable[str]) -> bool:
        """Tells whether one of the receivers matches the ``receiver`` pattern whole."""
        pattern = self.receiver
        return pattern is None or any(pattern.fullmatch(r) for r in receivers)


def labels_match(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Alertmanager's filter semantics, which differ from a silence's for empty values.

    ``a=""`` also matches an alert without ``a``; ``a!=""`` an alert that has ``a``.
    """
    for matcher in matchers:
        present = matcher.name in labels
        if matcher.value == "" and present == (matcher.type in _NEGATIVE):
            continue
        if not matcher.matches(labels):
            return False
    return True


def parse_filter(params: MultiMapping[str], *, unprocessed: bool = True) -> AlertFilter:
    """Reads the parameters; a 400 names each bad one."""
    problems: list[FieldProblem] = []
    flags = {
        name: _flag(params, name, problems)
        for name in ("active", "silenced", "inhibited", "unprocessed")
        if unprocessed or name != "unprocessed"
    }
    matchers = parse_matchers(params.getall("filter", []), problems)
    receiver = None
    raw = params.get("receiver")
    if raw is not None:
        try:
            receiver = GoRegex(raw)
        except ValueError as exc:
            problems.append(FieldProblem("receiver", f"failed to parse receiver param: {exc}"))
    if problems:
        raise InvalidFields(problems)
    return AlertFilter(matchers=tuple(matchers), receiver=receiver, **flags)


def parse_matchers(texts: Iterable[str], problems: list[FieldProblem]) -> list[Matcher]:
    """Parses ``filter`` matchers, adding a problem for each that is not one."""
    matchers: list[Matcher] = []
    for text in texts:
        try:
            matchers.append(parse_matcher(_unbrace(text)))
        except ValueError as exc:
            problems.append(FieldProblem("filter", f"bad matcher format: {exc}"))
    return matchers


def _unbrace(text: str) -> str:
    # amtool and Karma send one matcher per parameter; Alertmanager's parser also takes
    # a single matcher in braces, as ``{a="b"}``.
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        return stripped[1:-1]
    return text


def _flag(params: MultiMapping[str], name: str, problems: list[FieldProblem]) -> bool:
    raw = params.get(name)
    if raw is None or raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    problems.append(FieldProblem(name, f"must be true or false, not {raw!r}"))
    return True
