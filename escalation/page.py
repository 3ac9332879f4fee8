"""A page: one notification to send, as the outbox keeps it until it is delivered.

The outbox is the consumer collection ``outbox``. Each entry's key is its idempotency
key, ``incident:generation:level:repeat:person:channel`` (``-`` for a channel paged as
such): a step of an escalation maps to the same keys however often it is decided, so a
consumer that repeats a batch after a crash finds them already there and adds nothing.
An entry is filed under its send time (a contact method's delay) while it waits to be
delivered, and under its next attempt while it is retried; delivered or given up, it is
filed under nothing and keeps its result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.timestamps import micros

OUTBOX = "outbox"


@dataclass(frozen=True, slots=True)
class Page:
    """One notification of one escalation step to one person (or channel) on one channel."""

    incident_id: str
    generation: int
    level: int
    repeat: int
    person: str | None  # None: the channel itself is the target
    channel: str
    address: str
    send_at: datetime
    title: str
    state: str
    priority: str | None
    service: str | None

    @property
    def key(self) -> str:
        """The idempotency key: the same step to the same recipient is one entry."""
        person = self.person or "-"
        return (
            f"{self.incident_id}:{self.generation}:{self.level}:{self.repeat}"
            f":{person}:{self.channel}"
        )

    def to_document(self) -> dict[str, Any]:
        """Returns the outbox entry, pending, with no attempt made."""
        return {
            "key": self.key,
            "incident": self.incident_id,
            "generation": self.generation,
            "level": self.level,
            "repeat": self.repeat,
            "person": self.person,
            "channel": self.channel,
            "address": self.address,
            "send_at": micros(self.send_at),
            "title": self.title,
            "state": self.state,
            "priority": self.priority,
            "service": self.service,
            "status": "pending",
            "attempts": 0,
            "results": [],
        }
