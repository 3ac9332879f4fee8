"""Checks shared by the decoders: label sets, string maps, timestamps.

Each check returns the value or records an :class:`ItemProblem` naming the item's index
and the field, so that one bad alert in a batch never hides the others.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from core.errors import ItemProblem
from core.timestamps import parse_rfc3339_cached

# Prometheus' classic label name rule, which Alertmanager 0.25 enforces.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class ItemChecker:
    """Collects the problems of one item of a batch."""

    __slots__ = ("index", "problems")

    def __init__(self, index: int | None, problems: list[ItemProblem]) -> None:
        self.index = index
        self.problems = problems

    def fail(self, field: str, reason: str) -> None:
        """Records that ``field`` of this item is invalid for ``reason``."""
        self.problems.append(ItemProblem(self.index, field, reason))

    def string_map(self, value: Any, field: str, *, label_names: bool) -> dict[str, str] | None:
        """Returns a map of strings; with ``label_names``, keys must be valid label names."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(field, "must be an object of strings")
            return None
        for name, item in value.items():
            if label_names and not valid_label_name(name):
                self.fail(f"{field}.{name}", "invalid name: use [a-zA-Z_][a-zA-Z0-9_]*")
                return None
            if not isinstance(item, str):
                self.fail(f"{field}.{name}", "value must be a string")
                return None
        return value

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
            return True, parse_rfc3339_cached(value)
        except ValueError as exc:
            self.fail(field, f"invalid RFC 3339 timestamp: {exc}")
            return False, None


@lru_cache(maxsize=4_096)
def valid_label_name(name: str) -> bool:
    """Tells whether ``name`` is a valid label name; memoised, as senders reuse a few names."""
    return _LABEL_NAME.match(name) is not None


def not_an_object(index: int | None, problems: list[ItemProblem]) -> None:
    """Records that an item of a batch is not a JSON object."""
    problems.append(ItemProblem(index, "", "must be a JSON object"))
