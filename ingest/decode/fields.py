"""Checks shared by the decoders: label sets, string maps, timestamps.

Each check returns the value or records an :class:`ItemProblem` naming the item's index
and the field, so that one bad alert in a batch never hides the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any, Protocol

from core.errors import ItemProblem
from core.timestamps import parse_rfc3339_ns_cached

# Prometheus' classic label name rule, which Alertmanager 0.25 enforces.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# A name quoted in an error's field path is cut to this many characters.
_QUOTED_NAME = 64


@dataclass(frozen=True)
class AlertLimits:
    """The largest label name, label value, annotation value and whole alert, in UTF-8 bytes.

    Defaults (documented in the README): label names 1 KiB, as Grafana Mimir's and Loki's
    ``max_label_name_length``; label values 16 KiB, eight times Mimir's default, since an
    alert's labels are mostly series labels plus a few rule labels; annotation values
    64 KiB of human-read text; the whole alert 512 KiB, PagerDuty's limit for one event.
    """

    label_name: int = 1024
    label_value: int = 16 * 1024
    annotation_value: int = 64 * 1024
    alert: int = 512 * 1024

    @cached_property
    def safe_characters(self) -> int:
        """Characters a map may hold in all that are within every per-entry limit in bytes.

        UTF-8 takes at most 4 bytes a character: an ordinary map is judged by its length.
        """
        return min(self.label_name, self.label_value, self.annotation_value) // 4


DEFAULT_LIMITS = AlertLimits()


class ProblemSink(Protocol):
    """Where problems are recorded: a list, or ingest.decode.ProblemList (which caps them)."""

    def append(self, problem: ItemProblem, /) -> None:
        """Records a problem."""

    def __len__(self) -> int:
        """The number of problems recorded."""
        ...


class ItemChecker:
    """Collects the problems of one item of a batch."""

    __slots__ = ("characters", "index", "limits", "nanoseconds", "problems")

    def __init__(
        self, index: int | None, problems: ProblemSink, limits: AlertLimits = DEFAULT_LIMITS
    ) -> None:
        self.index = index
        self.problems = problems
        self.limits = limits
        # Characters of the string maps checked so far, towards the whole-alert limit.
        self.characters = 0
        # The nanoseconds (1-999) a timestamp field had beyond its microseconds, if any;
        # made on the first such field (most senders give milliseconds or microseconds).
        self.nanoseconds: dict[str, int] | None = None

    def fail(self, field: str, reason: str) -> None:
        """Records that ``field`` of this item is invalid for ``reason``."""
        self.problems.append(ItemProblem(self.index, field, reason))

    def string_map(self, value: Any, field: str, *, label_names: bool) -> dict[str, str] | None:
        """Returns a map of strings; with ``label_names``, keys must be valid label names.

        Names are held to the label name limit; values to the label value limit when
        ``field`` is ``labels``, else to the annotation value limit.
        """
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(field, "must be an object of strings")
            return None
        for name, item in value.items():
            if label_names and not valid_label_name(name):
                self.fail(field_path(field, name), "invalid name: use [a-zA-Z_][a-zA-Z0-9_]*")
                return None
            if not isinstance(item, str):
                self.fail(field_path(field, name), "value must be a string")
                return None
        # Counted in C once all are strings: cheaper than a sum step per entry.
        characters = sum(map(len, value)) + sum(map(len, value.values()))
        if characters > self.limits.safe_characters and not self._entries_fit(value, field):
            return None
        self.characters += characters
        if field == "labels" and "" in value.values():
            # A label with an empty value is no label (Prometheus' model); Alertmanager
            # drops it too, so the fingerprint is the one Alertmanager gives.
            return {name: item for name, item in value.items() if item}
        return value

    def _entries_fit(self, value: dict[str, str], field: str) -> bool:
        name_limit = self.limits.label_name
        value_limit = self.limits.label_value if field == "labels" else self.limits.annotation_value
        for name, item in value.items():
            if over_limit(name, name_limit):
                self.fail(field, f"a name is longer than {name_limit} bytes: {quoted(name)}")
                return False
            if over_limit(item, value_limit):
                self.fail(field_path(field, name), f"value is longer than {value_limit} bytes")
                return False
        return True

    def within_limit(self, field: str, value: str, limit: int) -> bool:
        """Tells whether ``value`` fits ``limit`` bytes; records a problem naming ``field``."""
        if over_limit(value, limit):
            self.fail(field, f"longer than {limit} bytes")
            return False
        return True

    def alert_size(self, labels: dict[str, str], annotations: dict[str, str], *extra: str) -> bool:
        """Tells whether a whole alert fits the alert limit; records a problem if not.

        ``labels`` and ``annotations`` are the maps :meth:`string_map` returned (it counted
        their characters); ``extra`` are the alert's other strings.
        """
        limit = self.limits.alert
        characters = self.characters + sum(map(len, extra))
        # A character is at most 4 bytes in UTF-8: most alerts are judged without encoding.
        if characters * 4 <= limit:
            return True
        parts = [*labels, *labels.values(), *annotations, *annotations.values(), *extra]
        size = sum(len(p.encode("utf-8", "surrogatepass")) for p in parts)
        if size > limit:
            self.fail("", f"the alert is {size} bytes, more than the limit of {limit}")
            return False
        return True

    def optional_string(self, value: Any, field: str, *, max_length: int = 65_536) -> str | None:
        """Returns a string or "" when absent; records a problem for any other type."""
        if value is None:
            return ""
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return None
        if len(value) > max_length:
            self.fail(field, f"longer than {max_length} characters")
            return None
        return value

    def timestamp(self, value: Any, field: str) -> tuple[bool, datetime | None]:
        """Returns ``(ok, instant)``; instant is None when absent or Go's zero time."""
        if value is None or value == "":
            return True, None
        if not isinstance(value, str):
            self.fail(field, "must be an RFC 3339 timestamp string")
            return False, None
        try:
            instant, nanoseconds = parse_rfc3339_ns_cached(value)
        except ValueError as exc:
            self.fail(field, f"invalid RFC 3339 timestamp: {exc}")
            return False, None
        if nanoseconds:
            if self.nanoseconds is None:
                self.nanoseconds = {}
            self.nanoseconds[field] = nanoseconds
        return True, instant

    def before(
        self, first: datetime, first_field: str, second: datetime, second_field: str
    ) -> bool:
        """Tells whether timestamp field ``first`` is before ``second``, to the nanosecond.

        An instant keeps microseconds; the nanoseconds the sender gave beyond them
        (Alertmanager's Go times) still decide, as Alertmanager's own validation would.
        """
        if first != second:
            return first < second
        nanoseconds = self.nanoseconds or {}
        return nanoseconds.get(first_field, 0) < nanoseconds.get(second_field, 0)


@lru_cache(maxsize=4_096)
def valid_label_name(name: str) -> bool:
    """Tells whether ``name`` is a valid label name; memoised, as senders reuse a few names."""
    return _LABEL_NAME.match(name) is not None


def over_limit(text: str, limit: int) -> bool:
    """Tells whether ``text`` is longer than ``limit`` bytes in UTF-8 (cheap when far from it)."""
    length = len(text)
    if length > limit:
        return True
    if length * 4 <= limit:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > limit


def quoted(name: str) -> str:
    """Quotes a name for an error message, cut short: the sender's 3 MB name is not echoed."""
    if len(name) <= _QUOTED_NAME:
        return repr(name)
    return repr(name[:_QUOTED_NAME]) + f"... ({len(name)} characters)"


def field_path(field: str, name: str) -> str:
    """The path of a map entry in an error, e.g. ``labels.instance``; long names are cut."""
    if len(name) <= _QUOTED_NAME:
        return f"{field}.{name}"
    return f"{field}.{name[:_QUOTED_NAME]}..."


def not_an_object(index: int | None, problems: ProblemSink) -> None:
    """Records that an item of a batch is not a JSON object."""
    problems.append(ItemProblem(index, "", "must be a JSON object"))
