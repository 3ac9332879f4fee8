"""An incident's escalation as the stage stores it: one document per incident.

The document lives in the consumer collection ``escalation`` under the incident's id,
filed under its next step's time (``due``), and holds:

- the policy **copied** from the rules when escalation started (:class:`PolicyCopy`), so
  a rules reload never changes an escalation already running;
- the next step to take (``level`` and ``repeat`` of the next page, or the end of an
  acknowledgement timeout) and when (``due``);
- the ``generation``: acknowledge, resolve, re-trigger and unmute bump it, and a timer
  acts only if it carries the current one, so a stale timer does nothing;
- what the stage last saw of the incident (state, mute, hold, title, service, priority);
- ``log``: the stage's decisions, newest last (what it paged and every decision *not*
  to page with its reason), capped at :data:`LOG_KEPT` entries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.timestamps import from_micros, micros
from escalation.updates import WhenState
from rules.policies import EscalationLevel, EscalationPolicy, Target, TargetKind

COLLECTION = "escalation"
LOG_KEPT = 50


class Phase(enum.StrEnum):
    """Where an escalation stands."""

    WAITING = "waiting"  # group_wait before the first page
    PAGING = "paging"  # the next level is paged at ``due``
    MUTED = "muted"  # a step fell due while muted or held: pages when unmuted
    ACKNOWLEDGED = "acknowledged"  # stopped; ``due`` is the acknowledgement timeout, if any
    EXHAUSTED = "exhausted"  # every level and repeat paged; the incident stays open
    STOPPED = "stopped"  # resolved or closed (or no policy): nothing more happens


@dataclass(frozen=True, slots=True)
class PolicyCopy:
    """The escalation policy as it was when escalation started."""

    name: str
    levels: tuple[EscalationLevel, ...]
    repeat: int
    ack_timeout: timedelta | None

    @classmethod
    def of(cls, policy: EscalationPolicy) -> PolicyCopy:
        """Copies ``policy``'s paging fields."""
        return cls(policy.name, policy.levels, policy.repeat, policy.ack_timeout)

    def same_as(self, policy: EscalationPolicy) -> bool:
        """Tells whether ``policy`` (e.g. after a reload) pages as this copy does."""
        return self == PolicyCopy.of(policy)

    def to_document(self) -> dict[str, Any]:
        """Returns the copy as JSON-ready values."""
        return {
            "name": self.name,
            "repeat": self.repeat,
            "ack_timeout": None if self.ack_timeout is None else self.ack_timeout.total_seconds(),
            "levels": [
                {
                    "delay": level.delay.total_seconds(),
                    "targets": [[t.kind.value, t.name] for t in level.targets],
                }
                for level in self.levels
            ],
        }

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> PolicyCopy:
        """Reads back what :meth:`to_document` wrote."""
        levels = tuple(
            EscalationLevel(
                timedelta(seconds=level["delay"]),
                tuple(Target(TargetKind(kind), name) for kind, name in level["targets"]),
            )
            for level in raw["levels"]
        )
        timeout = raw["ack_timeout"]
        return cls(
            raw["name"],
            levels,
            raw["repeat"],
            None if timeout is None else timedelta(seconds=timeout),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """One entry of the escalation's log: what the stage did or did not do, and why."""

    at: datetime
    what: str  # "paged", "not_paged", "stopped", "restarted", "rules_reloaded", ...
    reason: str

    def to_document(self) -> dict[str, Any]:
        """Returns the entry as JSON-ready values."""
        return {"at": micros(self.at), "what": self.what, "reason": self.reason}

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> Decision:
        """Reads back what :meth:`to_document` wrote."""
        return cls(from_micros(raw["at"]), raw["what"], raw["reason"])


@dataclass(frozen=True, slots=True)
class Escalation:
    """One incident's escalation (see the module docstring)."""

    incident_id: str
    policy: PolicyCopy | None
    phase: Phase
    generation: int
    level: int  # the level the next page goes to
    repeat: int  # how many times the policy started again before that page
    due: datetime | None
    # The incident's state as last seen (a copy: only core.lifecycle sets a state).
    incident_state: str
    muted: bool
    held: bool
    title: str = ""
    service: str | None = None
    priority: str | None = None
    log: tuple[Decision, ...] = field(default=())
    # Who was paged, and the pending update to them (escalation.updates).
    when: WhenState = field(default_factory=WhenState)

    @property
    def suppressed(self) -> bool:
        """Tells whether the incident pages nobody now (muted, held or on hold)."""
        return self.muted or self.held or self.incident_state == "on_hold"

    @property
    def wake(self) -> datetime | None:
        """When the stage must look at the escalation next: its step or its pending update."""
        times = [t for t in (self.due, self.when.due) if t is not None]
        return min(times, default=None)

    def noted(self, at: datetime, what: str, reason: str) -> tuple[Decision, ...]:
        """Returns the log with one more decision, the oldest dropped past LOG_KEPT."""
        return (*self.log, Decision(at, what, reason))[-LOG_KEPT:]

    def to_document(self) -> dict[str, Any]:
        """Returns the escalation as the document the store keeps."""
        return {
            "incident": self.incident_id,
            "policy": None if self.policy is None else self.policy.to_document(),
            "phase": self.phase.value,
            "generation": self.generation,
            "level": self.level,
            "repeat": self.repeat,
            "due": None if self.due is None else micros(self.due),
            "state": self.incident_state,
            "muted": self.muted,
            "held": self.held,
            "title": self.title,
            "service": self.service,
            "priority": self.priority,
            "log": [d.to_document() for d in self.log],
            "when": self.when.to_document(),
        }

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> Escalation:
        """Reads back what :meth:`to_document` wrote."""
        policy = raw["policy"]
        due = raw["due"]
        return cls(
            raw["incident"],
            None if policy is None else PolicyCopy.from_document(policy),
            Phase(raw["phase"]),
            raw["generation"],
            raw["level"],
            raw["repeat"],
            None if due is None else from_micros(due),
            raw["state"],
            raw["muted"],
            raw["held"],
            raw["title"],
            raw["service"],
            raw["priority"],
            tuple(Decision.from_document(d) for d in raw["log"]),
            WhenState.from_document(raw.get("when")),
        )
