"""What keeps alerts from paging: silences, maintenance windows, inhibition.

All three follow Alertmanager: silences and windows mute alerts whose labels match all
their matchers while they are active; an inhibit rule mutes an alert matching its target
matchers while a firing alert matches its source matchers with equal values for the
``equal`` labels (an absent label equals the empty string).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.calendar import ONE_MINUTE, WeeklyWindow, minute_floor
from rules.cron import CronSpec
from rules.durations import format_duration
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


class _LastStart:
    """The cron start found for an interval of instants, kept to answer again cheaply.

    Between two starts the answer to "when did the window last start" does not change,
    so one croniter search serves every alert until the next start. The three values
    are replaced together, as one tuple, so a reader never sees a mix of two answers.
    """

    __slots__ = ("known",)

    def __init__(self) -> None:
        # (start or None, valid from, valid until): empty until the first question.
        self.known: tuple[datetime | None, datetime, datetime] = (None, _LATEST, _LATEST)


_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A planned time when matching alerts are muted and components show maintenance.

    Exactly one schedule: ``weekly`` windows (clock times on weekdays), a ``cron`` start
    with a ``duration``, both read in ``time_zone``; or a one-off window from
    ``starts_at`` to ``ends_at``.
    """

    name: str
    matchers: tuple[Matcher, ...]
    time_zone: ZoneInfo
    weekly: tuple[WeeklyWindow, ...] = ()
    cron: CronSpec | None = None
    duration: timedelta = timedelta(0)
    components: tuple[str, ...] = ()  # status page components shown under maintenance
    comment: str = ""
    starts_at: datetime | None = None  # a one-off window: aware, before ends_at
    ends_at: datetime | None = None
    _last: _LastStart = field(default_factory=_LastStart, init=False, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tells whether the window covers these labels (whenever it is active)."""
        return matches_all(self.matchers, labels)

    def active_at(self, now: datetime) -> bool:
        """Tells whether the window is open at ``now`` (an aware instant).

        Constant time: a cron window asks croniter once for its latest start at or
        before ``now`` and is open if that start is less than ``duration`` ago.
        """
        if self.starts_at is not None and self.ends_at is not None:
            return self.starts_at <= now < self.ends_at
        if self.cron is None:
            local = now.astimezone(self.time_zone)
            return any(w.contains(local) for w in self.weekly)
        start = self.last_start(now)
        return start is not None and now - start < self.duration

    def last_start(self, now: datetime) -> datetime | None:
        """Returns when a cron window last started at or before ``now`` (UTC), if ever."""
        if self.cron is None:
            return None
        start, valid_from, valid_until = self._last.known
        if not valid_from <= now < valid_until:
            start = self.cron.last_start(now, self.time_zone)
            following = self.cron.next_start(now, self.time_zone)
            self._last.known = (start, start or now, following or _LATEST)
        return start

    def next_change(self, now: datetime) -> datetime | None:
        """Returns the first instant after ``now`` at which the window may open or close.

        For a sweep that must lift or apply mutes when a window starts or ends; None
        when the window never changes again. Weekly windows answer the next minute
        boundary, since their clock times change at whole minutes.
        """
        if self.starts_at is not None and self.ends_at is not None:
            return next((t for t in (self.starts_at, self.ends_at) if t > now), None)
        if self.cron is None:
            return minute_floor(now.astimezone(UTC)) + ONE_MINUTE
        start = self.last_start(now)
        ends = None if start is None else start + self.duration
        following = self.cron.next_start(now, self.time_zone)
        candidates = [t for t in (ends, following) if t is not None and t > now]
        return min(candidates, default=None)

    def describe(self) -> str:
        """Says when the window is open, e.g. ``sun 02:00-04:00 Europe/Berlin``."""
        if self.starts_at is not None and self.ends_at is not None:
            return f"from {self.starts_at.isoformat()} to {self.ends_at.isoformat()}"
        if self.cron is not None:
            duration = format_duration(self.duration)
            return f"cron {self.cron.text!r} for {duration} ({self.time_zone.key})"
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
