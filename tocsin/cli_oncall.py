"""``tocsin oncall``: who is on call, a schedule's final shifts, calendar feed URLs.

Reads the rules only (``--rules``, as ``tocsin serve``); no server is needed. The
answers come from the same calculator paging and the API use (``escalation.oncall``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from core.clock import Clock, SystemClock
from core.errors import RuleError
from escalation.oncall import OVERRIDE, final_shifts, shift_at
from escalation.oncall_ics import shifts_calendar
from escalation.oncall_reach import first_level_reach
from rules.calendar import localise
from rules.calendar_feeds import FeedKind
from rules.loader import load_rules
from rules.model import Rules
from rules.schedules import Schedule

# The longest range `show` computes: a year and a bit, for a yearly export.
MAX_RANGE = timedelta(days=400)
DEFAULT_RANGE = timedelta(days=7)


class _Usage(Exception):
    """A bad argument: said on stderr, exit code 2."""


def add_oncall_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``tocsin oncall who|show|feeds``."""
    oncall = commands.add_parser("oncall", help="who is on call, and schedules' shifts")
    actions = oncall.add_subparsers(dest="oncall_command", required=True)
    who = actions.add_parser("who", help="who is on call at an instant (default now)")
    who.add_argument(
        "--at", help="ISO 8601 date-time (default now); no offset: the schedule's zone"
    )
    who.add_argument("--schedule", help="only this schedule (default every schedule and policy)")
    who.add_argument("--format", choices=("text", "json"), default="text")
    show = actions.add_parser("show", help="a schedule's final shifts over a range")
    show.add_argument("--schedule", required=True)
    show.add_argument("--from", dest="start", help="date or date-time (default now)")
    show.add_argument("--to", dest="end", help="date or date-time (default 7 days after --from)")
    show.add_argument("--format", choices=("text", "json", "ics"), default="text")
    feeds = actions.add_parser(
        "feeds", help="calendar feed URLs (reads the rules' secrets, as serve does)"
    )
    feeds.add_argument("--base-url", default="http://127.0.0.1:9797", help="where Tocsin is served")
    for sub in (who, show, feeds):
        sub.add_argument(
            "--rules", type=Path, help="rules file or directory (TOCSIN_RULES; rules/examples)"
        )


def run_oncall(
    args: argparse.Namespace, clock: Clock | None = None, env: Mapping[str, str] | None = None
) -> int:
    """Runs ``tocsin oncall ...``; returns the exit code."""
    environment = os.environ if env is None else env
    path = args.rules or Path(environment.get("TOCSIN_RULES", "rules/examples"))
    now = (clock or SystemClock()).now()
    try:
        rules = load_rules(path, environment, resolve_secrets=args.oncall_command == "feeds")
    except RuleError as exc:
        print(f"tocsin: the rules in {path} are invalid:\n{exc}", file=sys.stderr)
        return 1
    try:
        if args.oncall_command == "who":
            print(_who(rules, args, now))
        elif args.oncall_command == "show":
            _show(rules, args, now)
        else:
            print(_feeds(rules, args.base_url))
    except _Usage as exc:
        print(f"tocsin oncall: {exc}", file=sys.stderr)
        return 2
    except OverflowError:
        print("tocsin oncall: times must lie between the years 1 and 9999", file=sys.stderr)
        return 2
    return 0


def parse_when(text: str | None, zone: ZoneInfo, now: datetime, name: str) -> datetime:
    """``now``, a date (midnight in ``zone``) or a date-time (no offset: in ``zone``)."""
    if text is None or text == "now":
        return now
    try:
        if len(text) == 10:
            return localise(datetime.combine(date.fromisoformat(text), time()), zone)
        value = datetime.fromisoformat(text)
        return value if value.tzinfo is not None else localise(value, zone)
    except ValueError as exc:
        raise _Usage(f"{name}: {exc}") from exc


def _schedule(rules: Rules, name: str) -> Schedule:
    found = rules.schedules.get(name)
    if found is None:
        known = ", ".join(rules.schedules) or "none"
        raise _Usage(f"--schedule: no schedule {name!r} in the rules (schedules: {known})")
    return found


def _who(rules: Rules, args: argparse.Namespace, now: datetime) -> str:
    chosen = [_schedule(rules, args.schedule)] if args.schedule else list(rules.schedules.values())
    zone = chosen[0].time_zone if args.schedule else ZoneInfo("UTC")
    at = parse_when(args.at, zone, now, "--at")
    shifts = [(schedule, shift_at(schedule, at)) for schedule in chosen]
    policies = (
        []
        if args.schedule
        else [first_level_reach(rules, p, at) for p in rules.escalation_policies.values()]
    )
    if args.format == "json":
        body = {
            "at": at.isoformat(),
            "schedules": [
                {
                    "schedule": sched.name,
                    "person": shift.person,
                    "source": shift.source,
                    "until": shift.end.isoformat(),
                }
                for sched, shift in shifts
            ],
            "policies": [
                {"policy": r.policy.name, "people": list(r.people), "channels": list(r.channels)}
                for r in policies
            ],
        }
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    lines = [f"On call at {at.isoformat()}:"]
    for schedule, shift in shifts:
        until = _local(shift.end.astimezone(schedule.time_zone))
        who = _person(rules, shift.person)
        lines.append(f"  {schedule.name}: {who}{_source(shift.source)}, until {until}")
    for reach in policies:
        people = ", ".join(_person(rules, p) for p in reach.people) or "no one"
        extra = f"; channels {', '.join(reach.channels)}" if reach.channels else ""
        lines.append(f"  policy {reach.policy.name}, first level: {people}{extra}")
    return "\n".join(lines)


def _show(rules: Rules, args: argparse.Namespace, now: datetime) -> None:
    schedule = _schedule(rules, args.schedule)
    start = parse_when(args.start, schedule.time_zone, now, "--from")
    end = (
        parse_when(args.end, schedule.time_zone, now, "--to") if args.end else start + DEFAULT_RANGE
    )
    if end <= start:
        raise _Usage("--to: must be after --from")
    if end - start > MAX_RANGE:
        raise _Usage(f"--to: at most {MAX_RANGE.days} days after --from")
    shifts = final_shifts(schedule, start, end)
    if args.format == "ics":
        title = f"On call: {schedule.display_name}"
        pairs = [(schedule, s) for s in shifts]
        sys.stdout.buffer.write(
            shifts_calendar(title, pairs, rules.people, now, include_nobody=True)
        )
        return
    if args.format == "json":
        rows = [
            {
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "person": s.person,
                "source": s.source,
            }
            for s in shifts
        ]
        print(
            orjson.dumps(
                {"schedule": schedule.name, "shifts": rows}, option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    print(f"{schedule.display_name} ({schedule.name}), times in {schedule.time_zone.key}:")
    for shift in shifts:
        opens = _local(shift.start.astimezone(schedule.time_zone))
        closes = _local(shift.end.astimezone(schedule.time_zone))
        print(f"  {opens} - {closes}  {_person(rules, shift.person)}{_source(shift.source)}")


def _feeds(rules: Rules, base_url: str) -> str:
    feeds = rules.calendar_feeds
    if feeds is None:
        raise _Usage("the rules have no calendar_feeds section (see docs/rules.md)")
    base = base_url.rstrip("/")
    lines = ["Calendar feed URLs (keep them like passwords):"]
    for name in rules.schedules:
        token = feeds.token(FeedKind.SCHEDULE, name)
        lines.append(
            f"  schedule {name}: {base}/api/v1/calendar/schedules/{name}.ics?token={token}"
        )
    for name in rules.people:
        token = feeds.token(FeedKind.PERSON, name)
        lines.append(f"  person {name}: {base}/api/v1/calendar/people/{name}.ics?token={token}")
    return "\n".join(lines)


def _person(rules: Rules, name: object) -> str:
    if name is None:
        return "no one"
    person = rules.people.get(str(name))
    return f"{person.display_name} ({name})" if person is not None else str(name)


def _source(source: str | None) -> str:
    if source is None:
        return ""
    return ", override" if source == OVERRIDE else f", layer {source}"


def _local(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M %Z")
