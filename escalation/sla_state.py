"""An incident's SLA clocks as the SLA stage stores them: one document per incident.

The document lives in the consumer collection ``sla`` under the incident's id, filed
under the next threshold due (``due``), and holds:

- ``cycle``: 1 from the incident's first event, one more each time it is reopened
  (resolved or closed, then triggered again): the clocks start over;
- ``started``, ``holds`` (each hold of the cycle that ended) and ``paused_since``: both
  clocks count the time since ``started`` minus the time on hold (ITIL's "pending"
  pause); the holds themselves are kept, not only their total, so that the instant a
  threshold was reached is known also when a hold began after it;
- per clock (time to acknowledge, time to resolve): the target copied from the rules'
  ``priority.sla`` when the clock started or the priority last changed, when it stopped
  (acknowledged; resolved), and the thresholds already handled, named
  ``<priority>:<threshold>`` (``P1:warning-3m45s``, ``P1:breach``) so a threshold fires
  once per cycle and priority;
- what the stage last saw of the incident (state, priority, team, service, assignee,
  muted or held)
  and ``log``, its decisions, newest last, capped at :data:`LOG_KEPT`.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import from_micros, micros
from escalation.state import Decision
from rules.durations import format_duration
from rules.priority import SlaClock

COLLECTION = "sla"
LOG_KEPT = 50
BREACH = "breach"


class ClockName(enum.StrEnum):
    """The two SLA clocks."""

    ACKNOWLEDGE = "acknowledge"  # time to acknowledge (ITIL's time to own)
    RESOLVE = "resolve"  # time to resolve


@dataclass(frozen=True, slots=True)
class Threshold:
    """A point of a clock: a warning (``warning-<elapsed>``) or the breach at 100 %."""

    name: str
    elapsed: timedelta

    @property
    def breach(self) -> bool:
        """Tells whether this is the target itself."""
        return self.name == BREACH


@dataclass(frozen=True, slots=True)
class ClockRun:
    """One clock of one cycle: its target, when it stopped, the thresholds handled."""

    within: timedelta
    warn_at: tuple[timedelta, ...]
    stopped_at: datetime | None = None
    handled: tuple[str, ...] = ()

    @classmethod
    def of(cls, target: SlaClock, kept: ClockRun | None = None) -> ClockRun:
        """A clock with ``target``, keeping ``kept``'s stop time and handled thresholds."""
        if kept is None:
            return cls(target.within, target.warn_at)
        return cls(target.within, target.warn_at, kept.stopped_at, kept.handled)

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        """The warnings, then the breach, by elapsed time."""
        return _thresholds(self.within, self.warn_at)

    def stopped(self, at: datetime) -> ClockRun:
        """The clock stopped at ``at`` (kept if it had stopped already)."""
        return self if self.stopped_at is not None else replace(self, stopped_at=at)

    def to_document(self) -> dict[str, Any]:
        """Returns the clock as JSON-ready values."""
        return {
            "within": _us(self.within),
            "warn_at": [_us(w) for w in self.warn_at],
            "stopped_at": None if self.stopped_at is None else micros(self.stopped_at),
            "handled": list(self.handled),
        }

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> ClockRun:
        """Reads back what :meth:`to_document` wrote."""
        stopped = raw["stopped_at"]
        return cls(
            timedelta(microseconds=raw["within"]),
            tuple(timedelta(microseconds=w) for w in raw["warn_at"]),
            None if stopped is None else from_micros(stopped),
            tuple(raw["handled"]),
        )


@dataclass(frozen=True, slots=True)
class SlaState:
    """One incident's SLA clocks (see the module docstring)."""

    incident_id: str
    cycle: int
    started: datetime
    paused_since: datetime | None
    holds: tuple[tuple[datetime, datetime], ...]  # [start, end) of each ended hold, in order
    clocks: dict[ClockName, ClockRun]  # a clock without a target for the priority: absent
    incident_state: str
    priority: str | None
    team: str | None = None
    service: str | None = None
    assignee: str | None = None
    title: str = ""
    log: tuple[Decision, ...] = field(default=())
    muted: bool = False  # silenced, inhibited or in maintenance
    held: bool = False  # held by the correlator (flap damping)

    @property
    def paused_total(self) -> timedelta:
        """The time on hold of the holds that ended."""
        return sum((end - begin for begin, end in self.holds), timedelta(0))

    def elapsed(self, at: datetime) -> timedelta:
        """The clocks' time at ``at``: since ``started``, less the time on hold before it."""
        paused = sum((max(min(end, at) - begin, timedelta(0)) for begin, end in self.holds),
                     timedelta(0))  # fmt: skip
        if self.paused_since is not None:
            paused += max(at - self.paused_since, timedelta(0))
        return at - self.started - paused

    def due_of(self, threshold: Threshold) -> datetime | None:
        """The instant the clocks' time reaches ``threshold`` (past or, if they run, future).

        None while on hold for a threshold not reached before the hold began.
        """
        at, left = self.started, threshold.elapsed
        for begin, end in self.holds:
            if left <= begin - at:
                return at + left
            left -= begin - at
            at = end
        if self.paused_since is not None and left > self.paused_since - at:
            return None
        return at + left

    def label(self, threshold: Threshold) -> str:
        """The name under which ``threshold`` is handled once: ``<priority>:<name>``."""
        return f"{self.priority}:{threshold.name}"

    def pending(self, name: ClockName) -> tuple[Threshold, ...]:
        """The clock's thresholds not handled yet (none once it stopped)."""
        run = self.clocks.get(name)
        if run is None or run.stopped_at is not None:
            return ()
        if not run.handled:
            return run.thresholds
        return tuple(t for t in run.thresholds if self.label(t) not in run.handled)

    @property
    def due(self) -> datetime | None:
        """The next threshold due on a running clock (None: nothing to wait for)."""
        times = [self.due_of(pending[0]) for name in ClockName if (pending := self.pending(name))]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def noted(self, at: datetime, what: str, reason: str) -> tuple[Decision, ...]:
        """Returns the log with one more decision, the oldest dropped past LOG_KEPT."""
        return (*self.log, Decision(at, what, reason))[-LOG_KEPT:]

    def to_document(self) -> dict[str, Any]:
        """Returns the clocks as the document the store keeps."""
        return {
            "incident": self.incident_id,
            "cycle": self.cycle,
            "started": micros(self.started),
            "paused_since": None if self.paused_since is None else micros(self.paused_since),
            "holds": [[micros(begin), micros(end)] for begin, end in self.holds],
            "clocks": {name.value: run.to_document() for name, run in self.clocks.items()},
            "state": self.incident_state,
            "priority": self.priority,
            "team": self.team,
            "service": self.service,
            "assignee": self.assignee,
            "title": self.title,
            "log": [d.to_document() for d in self.log],
            "muted": self.muted,
            "held": self.held,
        }

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> SlaState:
        """Reads back what :meth:`to_document` wrote."""
        paused = raw["paused_since"]
        return cls(
            raw["incident"],
            raw["cycle"],
            from_micros(raw["started"]),
            None if paused is None else from_micros(paused),
            tuple((from_micros(begin), from_micros(end)) for begin, end in raw["holds"]),
            {ClockName(k): ClockRun.from_document(v) for k, v in raw["clocks"].items()},
            raw["state"],
            raw["priority"],
            raw["team"],
            raw["service"],
            raw["assignee"],
            raw["title"],
            tuple(Decision.from_document(d) for d in raw["log"]),
            raw.get("muted", False),
            raw.get("held", False),
        )


@functools.lru_cache(maxsize=256)
def _thresholds(within: timedelta, warn_at: tuple[timedelta, ...]) -> tuple[Threshold, ...]:
    """A clock's thresholds, named once per target: every event of every incident asks
    (naming the warnings formats their durations, the bulk of an SLA pass's work)."""
    warnings = tuple(Threshold(f"warning-{format_duration(at)}", at) for at in warn_at)
    return (*warnings, Threshold(BREACH, within))


_MICROSECOND = timedelta(microseconds=1)


def _us(value: timedelta) -> int:
    """A duration in whole microseconds (exact, unlike float seconds)."""
    return value // _MICROSECOND
