"""People, how to reach them, and teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from rules.sla_rules import SlaEscalation, SupportHours


@dataclass(frozen=True, slots=True)
class ContactMethod:
    """One way to reach a person: a notification channel and the address on it.

    ``delay`` is counted from the moment the person is paged (PagerDuty's start delay),
    so a phone call can follow a chat message that went unanswered.
    """

    channel: str  # the name of a channel in ``channels``
    address: str  # e-mail address, chat handle, ...; '' where the channel needs none
    delay: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who can be paged."""

    name: str
    display_name: str
    contacts: tuple[ContactMethod, ...]
    time_zone: ZoneInfo | None = None
    manager: str | None = None  # paged by hierarchical SLA escalation (rules.sla_rules)


@dataclass(frozen=True, slots=True)
class Team:
    """People who own services and are paged together when a policy targets the team."""

    name: str
    display_name: str
    members: tuple[str, ...]  # person names
    channel: str | None = None  # a channel the whole team reads (e.g. its chat room)
    policy: str | None = None  # its incidents' escalation policy, unless a route names one
    sla_escalation: SlaEscalation | None = None  # who its incidents' SLA warnings reach
    support_hours: SupportHours | None = None  # when its limited incidents page people
