"""iCalendar (RFC 5545) documents of final shifts, written with the icalendar package.

One event per shift, in UTC (a client shows it in its own zone); a schedule's feed
also shows the times nobody is on call, so gaps in coverage are visible. Event UIDs
derive from the schedule, person and start, so a client that re-reads the feed keeps
its events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from icalendar import Calendar, Event

from escalation.oncall import Shift
from rules.people import Person
from rules.schedules import Schedule

PRODID = "-//Tocsin//On-call shifts//EN"


def shifts_calendar(
    title: str,
    shifts: Iterable[tuple[Schedule, Shift]],
    people: Mapping[str, Person],
    now: datetime,
    *,
    include_nobody: bool,
) -> bytes:
    """An iCalendar document named ``title`` with one event per shift."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    for schedule, shift in shifts:
        if shift.person is None and not include_nobody:
            continue
        calendar.add_component(_event(schedule, shift, people, now))
    document: bytes = calendar.to_ical()
    return document


def _event(schedule: Schedule, shift: Shift, people: Mapping[str, Person], now: datetime) -> Event:
    event = Event()
    who = _display(shift.person, people)
    event.add("uid", _uid(schedule, shift))
    event.add("dtstamp", now)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    summary = "No one on call" if shift.person is None else f"On call: {who}"
    event.add("summary", f"{summary} ({schedule.display_name})")
    how = "an override" if shift.source == "override" else f"layer {shift.source}"
    detail = f"No one is on call in {schedule.display_name}." if shift.person is None else (
        f"{who} is on call in {schedule.display_name} ({schedule.name}), from {how}."
    )
    event.add("description", detail)
    # Shifts block time: a calendar shows the person as busy.
    event.add("transp", "OPAQUE")
    return event


def _display(person: str | None, people: Mapping[str, Person]) -> str:
    if person is None:
        return "No one"
    found = people.get(person)
    return found.display_name if found is not None else person


def _uid(schedule: Schedule, shift: Shift) -> str:
    key = f"{schedule.name}\n{shift.person}\n{shift.start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32] + "@tocsin"
