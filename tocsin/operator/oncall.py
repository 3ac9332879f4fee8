"""Who is on call, over the operator API (viewer key), from the one on-call calculator.

- ``GET /api/v1/oncall?at=T``: every schedule's person on call at T (default now) with
  the shift they are in, and for each escalation policy whom its first level reaches;
- ``GET /api/v1/schedules/{name}?from=&to=``: the schedule's final shifts over a range
  of at most 90 days (default: the next 7 days from now), neither overlapping nor
  leaving a gap (``person`` null where nobody is on call).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from aiohttp import web

from core.errors import FieldProblem, InvalidFields, NotFound
from core.timestamps import format_rfc3339
from escalation.oncall import Shift, final_shifts, shift_at
from escalation.oncall_reach import PolicyReach, first_level_reach
from rules.api_keys import Role
from rules.model import Rules
from rules.people import Person
from rules.schedules import Schedule
from tocsin.keys import CLOCK, RULES
from tocsin.operator.auth import require
from tocsin.operator.params import time_param, unknown_params

MAX_RANGE = timedelta(days=90)
DEFAULT_RANGE = timedelta(days=7)
# Far enough from datetime's limits that a range and its look-ahead never overflow.
_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def add_oncall_routes(router: web.UrlDispatcher) -> None:
    """Registers the on-call endpoints."""
    router.add_get("/api/v1/oncall", get_oncall)
    router.add_get("/api/v1/schedules/{name}", get_schedule)


async def get_oncall(request: web.Request) -> web.Response:
    """Who is on call at ``at`` in every schedule, and whom each policy's first level pages."""
    require(request, Role.VIEWER)
    problems: list[FieldProblem] = []
    unknown_params(request.query, ("at",), problems)
    at = _bounded(time_param(request.query, "at", problems), "at", problems)
    if problems:
        raise InvalidFields(problems)
    at = at or request.app[CLOCK].now()
    rules = request.app[RULES].current.rules
    schedules = [
        {**_schedule_head(s), "people": _people(rules, shift.person), "shift": shift_view(shift)}
        for s in rules.schedules.values()
        for shift in [shift_at(s, at)]
    ]
    policies = [
        _policy_view(rules, first_level_reach(rules, p, at))
        for p in rules.escalation_policies.values()
    ]
    body = {"at": format_rfc3339(at), "schedules": schedules, "escalation_policies": policies}
    return web.json_response(body)


async def get_schedule(request: web.Request) -> web.Response:
    """One schedule's definition summary and its final shifts over ``[from, to)``."""
    require(request, Role.VIEWER)
    rules = request.app[RULES].current.rules
    schedule = rules.schedules.get(request.match_info["name"])
    if schedule is None:
        raise NotFound("no such schedule", field="name")
    start, end = _range(request.query, request.app[CLOCK].now())
    shifts = final_shifts(schedule, start, end)
    body = {
        **_schedule_head(schedule),
        "layers": [layer.name for layer in schedule.layers],
        "from": format_rfc3339(start),
        "to": format_rfc3339(end),
        "shifts": [{**shift_view(s), "people": _people(rules, s.person)} for s in shifts],
    }
    return web.json_response(body)


def _range(query: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """``from`` and ``to`` of a request: RFC 3339, ``to`` after ``from``, at most 90 days."""
    problems: list[FieldProblem] = []
    unknown_params(query, ("from", "to"), problems)
    start = _bounded(time_param(query, "from", problems), "from", problems)
    end = _bounded(time_param(query, "to", problems), "to", problems)
    if problems:
        raise InvalidFields(problems)
    start = start or now
    end = end or start + DEFAULT_RANGE
    if end <= start:
        raise InvalidFields([FieldProblem("to", "must be after from")])
    if end - start > MAX_RANGE:
        raise InvalidFields([FieldProblem("to", f"at most {MAX_RANGE.days} days after from")])
    return start, end


def _bounded(value: datetime | None, name: str, problems: list[FieldProblem]) -> datetime | None:
    """``value`` if it lies in the years shifts are computed for (1971 to 9000), else a problem."""
    if value is not None and not _EARLIEST <= value <= _LATEST:
        problems.append(FieldProblem(name, "must be between 1971 and 9000"))
        return None
    return value


def shift_view(shift: Shift) -> dict[str, object]:
    """The JSON of one final shift."""
    return {
        "start": format_rfc3339(shift.start),
        "end": format_rfc3339(shift.end),
        "person": shift.person,
        "source": shift.source,
    }


def _schedule_head(schedule: Schedule) -> dict[str, object]:
    return {
        "name": schedule.name,
        "display_name": schedule.display_name,
        "time_zone": schedule.time_zone.key,
    }


def _people(rules: Rules, *names: str | None) -> list[dict[str, object]]:
    return [_person_view(name, rules.people.get(name)) for name in names if name is not None]


def _person_view(name: str, person: Person | None) -> dict[str, object]:
    return {"name": name, "display_name": person.display_name if person else name}


def _policy_view(rules: Rules, reach: PolicyReach) -> dict[str, object]:
    level = reach.policy.levels[0] if reach.policy.levels else None
    return {
        "name": reach.policy.name,
        "first_level": {
            "delay_seconds": level.delay.total_seconds() if level else 0,
            "targets": [
                {"kind": t.target.kind.value, "name": t.target.name, "people": list(t.people)}
                for t in reach.targets
            ],
        },
        "people": _people(rules, *reach.people),
        "channels": list(reach.channels),
    }
