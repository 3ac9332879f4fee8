"""Escalation policies: who is paged, in which order, how long each level waits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta


class TargetKind(enum.StrEnum):
    """What a level pages."""

    PERSON = "person"
    TEAM = "team"  # every member of the team
    SCHEDULE = "schedule"  # whoever is on call in the schedule at that moment
    CHANNEL = "channel"  # a channel itself, e.g. a team chat room or a webhook


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a level pages, by name."""

    kind: TargetKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.name}"


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """Targets paged together; ``delay`` is how long an unacknowledged incident stays here."""

    delay: timedelta
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Levels paged one after another until someone acknowledges.

    After the last level the policy starts again from the first, ``repeat`` more times
    (PagerDuty's ``num_loops``); then it stops paging, and the incident stays open.
    """

    name: str
    description: str
    levels: tuple[EscalationLevel, ...]
    repeat: int = 0
    # An acknowledged incident not resolved within this is paged again from the first
    # level (PagerDuty's acknowledgement_timeout); None: an acknowledgement holds.
    ack_timeout: timedelta | None = None
