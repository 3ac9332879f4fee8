"""Regular expressions with Go's semantics, as Alertmanager's matchers use them.

Patterns are compiled by RE2 (the ``google-re2`` package), the engine Go's ``regexp``
follows: matching takes time linear in the input whatever the pattern, so a silence
such as ``(a+)+b`` cannot stall the correlator, and the syntax is Go's (``\\pL``,
``[[:alpha:]]``, ``\\z``, ASCII-only ``\\d``). Constructs that need backtracking
(lookaround, backreferences) do not compile. A match is against the whole value, as
Alertmanager anchors its regexes as ``^(?:re)$``.
"""

from __future__ import annotations

from collections.abc import Callable

import re2

# The results of recent values, per pattern: label values repeat (alertname, severity,
# job), and a dictionary look-up is cheaper than a call into RE2. Bounded in entries and
# value length.
_MEMO_ENTRIES = 1024
_MEMO_VALUE_CHARS = 256


def _options() -> re2.Options:
    options = re2.Options()
    # A bad pattern is reported to the rules author; RE2 would also log it to stderr.
    options.log_errors = False
    options.never_capture = True  # only "does it match" is asked
    return options


_OPTIONS = _options()
# google-re2's public ``fullmatch`` builds match objects and offset tables in Python
# (about 3 us a call here); its compiled object's own ``Match`` answers in about 0.4 us.
# That object is the binding the public wrapper itself calls; if a release renames it,
# the public call is used instead.
_ANCHOR_BOTH = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)
_NO_MATCH = (-1, -1)


def _matcher(compiled: object) -> Callable[[str], bool]:
    native = getattr(compiled, "_regexp", None)
    match = getattr(native, "Match", None)
    anchor = getattr(_ANCHOR_BOTH, "ANCHOR_BOTH", None)
    if match is None or anchor is None:
        public: Callable[[str], object] = getattr(compiled, "fullmatch")  # noqa: B009

        def slow(value: str) -> bool:
            return public(value) is not None

        return slow

    def fast(value: str) -> bool:
        encoded = value.encode("utf-8")
        return bool(match(anchor, encoded, 0, len(encoded))[0] != _NO_MATCH)

    return fast


class GoRegex:
    """A compiled pattern that tells whether it matches a whole string."""

    __slots__ = ("_matches", "_memo", "pattern")

    def __init__(self, pattern: str) -> None:
        """Compiles ``pattern``; raises ValueError saying why RE2 (and Go) refuse it."""
        _refuse_byte_class(pattern)
        try:
            compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            raise ValueError(
                f"{pattern!r} is not a valid regular expression: {_reason(exc)}"
            ) from exc
        except UnicodeEncodeError as exc:
            raise ValueError(f"{pattern!r} is not valid UTF-8 text") from exc
        self.pattern = pattern
        self._matches = _matcher(compiled)
        self._memo: dict[str, bool] = {}

    def fullmatch(self, value: str) -> bool:
        """Tells whether the pattern matches all of ``value``."""
        known = self._memo.get(value)
        if known is not None:
            return known
        try:
            found = self._matches(value)
        except UnicodeEncodeError:
            # A lone surrogate is not text; Go's regexp would see invalid UTF-8 and a
            # pattern could at most match it as U+FFFD. No real label carries one.
            found = False
        if len(value) <= _MEMO_VALUE_CHARS:
            if len(self._memo) >= _MEMO_ENTRIES:
                self._memo.clear()
            self._memo[value] = found
        return found

    def __repr__(self) -> str:
        return f"GoRegex({self.pattern!r})"


def _reason(exc: re2.error) -> str:
    detail = exc.args[0] if exc.args else exc
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)


def _refuse_byte_class(pattern: str) -> None:
    # RE2 accepts \C (any single byte, which can split a UTF-8 character); Go does not.
    index = 0
    while index < len(pattern) - 1:
        if pattern[index] == "\\":
            if pattern[index + 1] == "C":
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression: invalid escape sequence: \\C"
                )
            index += 2
            continue
        index += 1
