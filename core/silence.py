"""Silences as data: who muted which alerts, from when to when, and why.

Matchers are kept here as plain ``(name, op, value)`` triples so that the store can
persist them; the correlation stage compiles them with the rule language's matchers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class SilenceState(enum.StrEnum):
    """Alertmanager's silence states."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


MATCH_OPERATORS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    """One condition on a label, in Alertmanager syntax: ``name op value``."""

    name: str
    op: str
    value: str

    def __str__(self) -> str:
        # Escaped as Alertmanager writes it, so the text parses back to the same matcher.
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes notifications for alerts matching every matcher, from ``starts_at`` to ``ends_at``."""

    id: str
    matchers: tuple[LabelMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def state(self, now: datetime) -> SilenceState:
        """Returns whether the silence is pending, active or expired at ``now``."""
        if now >= self.ends_at:
            return SilenceState.EXPIRED
        if now < self.starts_at:
            return SilenceState.PENDING
        return SilenceState.ACTIVE
