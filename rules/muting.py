"""What keeps alerts from paging: silences, recurring maintenance windows, inhibition.

All three follow Alertmanager: silences and windows mute alerts whose labels match all
their matchers while they are active; an inhibit rule mutes an alert matching its target
matchers while a firing alert matches its source matchers with equal values for the
``equal`` labels (an absent label equals the empty string).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import ONE_MINUTE, WeeklyWindow, minute_floor
from rules.cron import CronSpec
from rules.matchers import Matcher, matches_all


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes matching alerts from ``starts_at`` to ``ends_at`` (Alertmanager's silence)."""

    matchers: tuple[Matcher, ...]
    starts_at: datetime  # aware
    ends_at: datetime  # aware, after starts_at
    comment: str
    created_by: str
    name: str | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tells whether the silence covers these labels (whenever it is active)."""
        return matches_all(self.matchers, labels)

    def active_at(self, now: datetime) -> bool:
        """Tells whether the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A recurring time when matching alerts are muted and components show maintenance.

    Either ``weekly`` windows (clock times on weekdays) or a ``cron`` start with a
    ``duration``; both read in ``time_zone``.
    """

    name: str
    matchers: tuple[Matcher, ...]
    time_zone: ZoneInfo
    weekly: tuple[WeeklyWindow, ...] = ()
    cron: CronSpec | None = None
    duration: timedelta = timedelta(0)
    components: tuple[str, ...] = ()  # status page components shown under maintenance
    comment: str = ""

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tells whether the window covers these labels (whenever it is active)."""
        return matches_all(self.matchers, labels)

    def active_at(self, now: datetime) -> bool:
        """Tells whether the window is open at ``now`` (an aware instant)."""
        if self.cron is None:
            local = now.astimezone(self.time_zone)
            return any(w.contains(local) for w in self.weekly)
        # A cron window is open if it started at some minute of the last ``duration``.
        # Minutes are stepped in UTC and read in the zone, so DST repeats and gaps
        # behave as cron does on a machine in that zone.
        start = minute_floor(now.astimezone(UTC))
        steps = int(self.duration / ONE_MINUTE)
        for back in range(steps):
            candidate = start - back * ONE_MINUTE
            if now - candidate >= self.duration:
                break
            if self.cron.matches(candidate.astimezone(self.time_zone)):
                return True
        return False

    def describe(self) -> str:
        """Says when the window is open, e.g. ``sun 02:00-04:00 Europe/Berlin``."""
        if self.cron is not None:
            return f"cron {self.cron.text!r} for {self.duration} ({self.time_zone.key})"
        return "; ".join(str(w) for w in self.weekly) + f" ({self.time_zone.key})"


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """While a firing alert matches ``source_matchers``, alerts matching the targets are muted."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    name: str | None = None

    def is_source(self, labels: Mapping[str, str]) -> bool:
        """Tells whether a firing alert with these labels can inhibit others."""
        return matches_all(self.source_matchers, labels)

    def is_target(self, labels: Mapping[str, str]) -> bool:
        """Tells whether an alert with these labels can be inhibited."""
        return matches_all(self.target_matchers, labels)

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """Tells whether a firing ``source`` alert mutes ``target`` under this rule.

        As in Alertmanager, an alert matching both sides is not muted by another alert
        that also matches both, so two such alerts cannot mute each other.
        """
        if not (self.is_target(target) and self.is_source(source)):
            return False
        if any(source.get(n, "") != target.get(n, "") for n in self.equal):
            return False
        return not (self.is_source(target) and self.is_target(source))
