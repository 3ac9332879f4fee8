"""The typed context that flows through the correlation stages for one log entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.silence import Silence as StoredSilence
from correlate.firing import FiringIndex
from correlate.routes import RouteCache
from correlate.working import WorkingSet
from rules.correlation import Tuning
from rules.matchers import Matcher
from rules.model import Rules


@dataclass(frozen=True, slots=True)
class OperatorSilence:
    """A silence created through the API, with its matchers compiled once per step."""

    silence: StoredSilence
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class CorrelationContext:
    """What the stages know about the entry being correlated.

        ``mutes`` maps a fingerprint to why its notifications are muted (silence,
        maintenance, inhibition); ``flaps`` maps a fingerprint to the recent times it changed
        state. ``routes`` remembers the group keys of each alert. Stages add to these with
    ``dataclasses.replace``.
    """

    now: datetime
    position: str
    rules: Rules
    tuning: Tuning
    silences: tuple[OperatorSilence, ...]
    firing: FiringIndex
    working: WorkingSet
    routes: RouteCache
    mutes: Mapping[str, str] = field(default_factory=dict)
    flaps: Mapping[str, tuple[datetime, ...]] = field(default_factory=dict)
