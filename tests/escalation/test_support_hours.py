"""Support hours: page now or wait for the next window, DST-correct (table tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from escalation.support_hours import next_support_instant, next_window_start
from rules.model import Rules
from rules.people import Team
from rules.services import Service
from rules.sla_rules import SupportHours
from tests.escalation.builders import utc, window

LOW, MEDIUM, HIGH = 3, 2, 1  # the default matrix's urgency levels


@dataclass(frozen=True)
class View:
    """An incident as next_support_instant reads it."""

    service: str | None = "shop"
    team: str | None = None
    urgency: int | None = LOW
    priority: str | None = "P5"


def hours(zone: str, *windows: tuple[str, str, str], **applies: object) -> SupportHours:
    """A calendar in ``zone`` of windows written as ("mon-fri", "09:00", "17:00")."""
    return SupportHours(
        ZoneInfo(zone),
        tuple(window(*w) for w in windows),
        applies.get("urgencies"),  # type: ignore[arg-type]
        applies.get("priorities", frozenset()),  # type: ignore[arg-type]
    )


OFFICE_BERLIN = hours("Europe/Berlin", ("mon-fri", "09:00", "17:00"))


@pytest.mark.parametrize(
    ("calendar", "now", "expected"),
    [
        # Inside the window: page now.
        (OFFICE_BERLIN, "2026-03-25T10:00", None),
        # Friday evening before Berlin's spring change: Monday 09:00 CEST is 07:00 UTC.
        (OFFICE_BERLIN, "2026-03-27T17:00", "2026-03-30T07:00"),
        # Saturday before the autumn change: Monday 09:00 CET is 08:00 UTC.
        (OFFICE_BERLIN, "2026-10-24T10:00", "2026-10-26T08:00"),
        # The window's end is exclusive: 17:00 local is outside, next day 09:00.
        (OFFICE_BERLIN, "2026-06-10T15:00", "2026-06-11T07:00"),
        # A start the spring change skips (02:30 does not exist): the jump, 03:00 CEST.
        (hours("Europe/Berlin", ("sun", "02:30", "04:00")), "2026-03-29T00:30", "2026-03-29T01:00"),
        # A start that occurs twice in autumn: its first occurrence, 02:30 CEST.
        (hours("Europe/Berlin", ("sun", "02:30", "05:00")), "2026-10-24T23:00", "2026-10-25T00:30"),
        # New York's spring change: Sunday 08:00 EDT is 12:00 UTC (13:00 the day before).
        (
            hours("America/New_York", ("mon-sun", "08:00", "12:00")),
            "2026-03-07T18:00",
            "2026-03-08T12:00",
        ),
        # New York's autumn change: 01:30 occurs twice; the first is 01:30 EDT, 05:30 UTC.
        (
            hours("America/New_York", ("sun", "01:30", "03:00")),
            "2026-11-01T04:00",
            "2026-11-01T05:30",
        ),
        # After it the clocks say EST: Monday 08:00 EST is 13:00 UTC.
        (
            hours("America/New_York", ("mon", "08:00", "12:00")),
            "2026-11-01T12:00",
            "2026-11-02T13:00",
        ),
        # A window past midnight (Fri 22:00-06:00) holds on Saturday 03:00.
        (hours("UTC", ("fri", "22:00", "06:00")), "2026-06-13T03:00", None),
        # ... and opens again the next Friday.
        (hours("UTC", ("fri", "22:00", "06:00")), "2026-06-13T06:00", "2026-06-19T22:00"),
    ],
)
def test_next_window_start(calendar: SupportHours, now: str, expected: str | None) -> None:
    assert next_window_start(calendar, utc(now)) == (None if expected is None else utc(expected))


def rules_with(service_hours: SupportHours | None, team_hours: SupportHours | None) -> Rules:
    """Service ``shop`` owned by team ``ops``, each with the given calendar."""
    return Rules(
        sources=(),
        services={"shop": Service("shop", "Shop", team="ops", support_hours=service_hours)},
        teams={"ops": Team("ops", "Ops", ("ann",), support_hours=team_hours)},
    )


SATURDAY = utc("2026-06-13T12:00")
MONDAY_9_BERLIN = utc("2026-06-15T07:00")
MONDAY_9_UTC = utc("2026-06-15T09:00")
OFFICE_UTC = hours("UTC", ("mon-fri", "09:00", "17:00"))


@pytest.mark.parametrize(
    ("service_hours", "team_hours", "view", "expected"),
    [
        # Low urgency waits for the service's hours (the default: the lowest urgency).
        (OFFICE_BERLIN, None, View(), MONDAY_9_BERLIN),
        # High urgency never waits.
        (OFFICE_BERLIN, None, View(urgency=HIGH, priority="P1"), None),
        # Unknown urgency (e.g. nothing categorised it) is not limited by urgency.
        (OFFICE_BERLIN, None, View(urgency=None), None),
        # Without service hours, the owning team's calendar applies.
        (None, OFFICE_UTC, View(), MONDAY_9_UTC),
        # The service's calendar wins over the team's.
        (OFFICE_BERLIN, OFFICE_UTC, View(), MONDAY_9_BERLIN),
        # The incident's own team counts when it has no service.
        (None, OFFICE_UTC, View(service=None, team="ops"), MONDAY_9_UTC),
        # No calendar anywhere: page now.
        (None, None, View(), None),
        # Urgencies named by the rules: medium is limited too.
        (
            hours("UTC", ("mon-fri", "09:00", "17:00"), urgencies=("low", "medium")),
            None,
            View(urgency=MEDIUM, priority="P3"),
            MONDAY_9_UTC,
        ),
        # ... and high is not.
        (
            hours("UTC", ("mon-fri", "09:00", "17:00"), urgencies=("low", "medium")),
            None,
            View(urgency=HIGH, priority="P3"),
            None,
        ),
        # A priority named by the rules limits whatever the urgency.
        (
            hours("UTC", ("mon-fri", "09:00", "17:00"), urgencies=(), priorities=frozenset({"P4"})),
            None,
            View(urgency=HIGH, priority="P4"),
            MONDAY_9_UTC,
        ),
    ],
)
def test_next_support_instant(
    service_hours: SupportHours | None,
    team_hours: SupportHours | None,
    view: View,
    expected: datetime | None,
) -> None:
    rules = rules_with(service_hours, team_hours)
    assert next_support_instant(rules, view, SATURDAY) == expected
