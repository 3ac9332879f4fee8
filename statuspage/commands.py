"""Operator requests of the status API, checked strictly and filed as commands.

The API does not change the page's documents itself: the one writer
(``statuspage.writer``) does, in order with the incident events, so two writers never
overwrite each other. A request is checked here (unknown fields by name, types, sizes,
component ids of the page: InvalidFields naming the field), then filed as a command
document (``records.COMMANDS``) carrying the ids it creates, so the API can answer
with them.

Bodies:

- incident: ``{name, body, status?, impact?, components?}``; ``components`` is
  ``{component: status}`` or a list of components, which get the status the impact
  implies (``mapping.STATUS_OF_IMPACT``); ``impact`` defaults to the one the worst
  component status implies;
- incident update: ``{status, body, components?}``;
- maintenance: ``{name, scheduled_for, scheduled_until, components, body?, status?}``;
- maintenance update: ``{status, body}``;
- incident edit: ``{name?, impact?}``; an update's edit: ``{body}`` (to correct or redact
  it); deleting an incident or one of its updates has no body;
- maintenance edit: ``{name?, scheduled_for?, scheduled_until?, components?, body?,
  status?}`` (``body`` adds an update, with ``status`` or the current one); a
  maintenance update's edit: ``{body}``; deleting a maintenance or an update has no body.

A maintenance's window follows what has happened (:func:`edit_maintenance_command`): a
completed one's window and components are history (409 naming the field), a started
one's start can no longer move (409), and a new end must be later than now (400).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Set
from datetime import datetime
from typing import Any, TypeVar

from core.errors import Conflict, FieldProblem, InvalidFields
from core.timestamps import format_rfc3339, from_micros, micros, parse_rfc3339
from statuspage.maintenance import ACTIVE
from statuspage.mapping import IMPACT_OF_STATUS, STATUS_OF_IMPACT, worst
from statuspage.model import (
    ComponentStatus,
    Impact,
    MaintenanceStatus,
    MaintenanceUpdate,
    PublicIncidentStatus,
    PublicMaintenance,
)
from statuspage.site.text import clean

MAX_NAME = 200
MAX_BODY = 10_000
MAX_COMPONENTS = 100
# Updates kept per public incident or maintenance: its page shows the whole timeline.
# The API refuses more (400 naming incident_updates), except an update that closes it
# (resolved, postmortem, completed), which must always be possible; automatic updates
# and closing ones beyond it drop the oldest but the first.
MAX_UPDATES = 100
CLOSING = frozenset(
    {
        PublicIncidentStatus.RESOLVED.value,
        PublicIncidentStatus.POSTMORTEM.value,
        MaintenanceStatus.COMPLETED.value,
    }
)
# Statuses an operator may set on a component (maintenance comes from maintenances).
_SETTABLE = [s.value for s in ComponentStatus if s is not ComponentStatus.UNDER_MAINTENANCE]

U = TypeVar("U")

# Commands on a maintenance the API wrote: the writer reads it first (all but its creation).
MAINTENANCE_OPS = frozenset(
    {
        "update_maintenance",
        "edit_maintenance",
        "delete_maintenance",
        "edit_maintenance_update",
        "delete_maintenance_update",
    }
)

# The years a status record's time may name (see _instant). Not 2000: mirrored around
# 2100, its first day sorted after records.EVERYTHING (2000 to 2100 has one more leap day
# than 2100 to 2200), so no list showed a maintenance begun then.
FIRST_YEAR = 2001
LAST_YEAR = 2099


def _fields(
    raw: object, allowed: Set[str], required: Set[str], problems: list[FieldProblem]
) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidFields([FieldProblem("body", "must be a JSON object")])
    for name in sorted(raw.keys() - allowed):
        problems.append(FieldProblem(name, f"unknown field; allowed: {', '.join(sorted(allowed))}"))
    for name in sorted(required - raw.keys()):
        problems.append(FieldProblem(name, "is required"))
    return raw


def _text(raw: Mapping[str, Any], name: str, limit: int, problems: list[FieldProblem]) -> str:
    """A text field with bidi controls, control and invisible characters removed first
    (``site.text.clean``), then checked: it must still show something."""
    value = raw.get(name)
    if name not in raw:
        return ""
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a non-empty string"))
        return ""
    if len(value) > limit:
        problems.append(FieldProblem(name, f"must be at most {limit} characters"))
        return ""
    cleaned = clean(value).strip()
    if not any(_visible(c) for c in cleaned):
        problems.append(FieldProblem(name, "must be a non-empty string (of visible characters)"))
        return ""
    return cleaned


# Letters by category that show nothing: the Hangul fillers.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def _visible(character: str) -> bool:
    # Not a separator (spaces), a control or format character (Cc, Cf, ...), nor a filler.
    blank = character in _BLANK_LETTERS
    return not blank and not unicodedata.category(character).startswith(("Z", "C"))


def _choice(
    raw: Mapping[str, Any], name: str, values: list[str], problems: list[FieldProblem]
) -> str | None:
    value = raw.get(name)
    if name not in raw:
        return None
    if value not in values:
        problems.append(FieldProblem(name, f"must be one of {', '.join(values)}"))
        return None
    return str(value)


def _components(
    raw: Mapping[str, Any], known: Set[str], problems: list[FieldProblem]
) -> dict[str, str | None] | None:
    """``components`` as {id: status or None (from the impact)}; None when absent."""
    if "components" not in raw:
        return None
    value = raw["components"]
    if isinstance(value, list):
        pairs: list[tuple[object, object]] = [(item, None) for item in value]
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        problems.append(
            FieldProblem("components", "must be a list of ids or an object {id: status}")
        )
        return None
    if len(pairs) > MAX_COMPONENTS:
        problems.append(FieldProblem("components", f"at most {MAX_COMPONENTS}"))
        return None
    found: dict[str, str | None] = {}
    for name, status in pairs:
        if not isinstance(name, str) or name not in known:
            problems.append(FieldProblem(f"components.{name}", "is not a component of the page"))
            continue
        if status is not None and status not in _SETTABLE:
            problems.append(
                FieldProblem(f"components.{name}", f"must be one of {', '.join(_SETTABLE)}")
            )
            continue
        found[name] = None if status is None else str(status)
    return found


def incident_command(
    raw: object, known: Set[str], public_id: str, update_id: str, at: datetime
) -> dict[str, Any]:
    """Checks a new incident's body; returns its ``create_incident`` command."""
    problems: list[FieldProblem] = []
    body = _fields(
        raw, {"name", "status", "impact", "components", "body"}, {"name", "body"}, problems
    )
    name = _text(body, "name", MAX_NAME, problems)
    text = _text(body, "body", MAX_BODY, problems)
    status = _choice(body, "status", [s.value for s in PublicIncidentStatus], problems)
    impact = _choice(body, "impact", [i.value for i in Impact], problems)
    components = _components(body, known, problems) or {}
    if problems:
        raise InvalidFields(problems)
    implied = Impact(impact or Impact.MINOR.value)
    statuses = {c: s or STATUS_OF_IMPACT[implied].value for c, s in components.items()}
    if impact is None:
        worst_status = worst(ComponentStatus(s) for s in statuses.values())
        impact = IMPACT_OF_STATUS[worst_status].value if statuses else Impact.NONE.value
    fields = {
        "name": name,
        "body": text,
        "status": status or PublicIncidentStatus.INVESTIGATING.value,
        "impact": impact,
        "components": statuses,
    }
    return _command("create_incident", public_id, update_id, at, fields)


def full_timeline(count: int, raw: object) -> FieldProblem | None:
    """The problem with adding the update ``raw`` (a request body) to a timeline of
    ``count`` updates, if any: none when it closes the incident or maintenance."""
    if count < MAX_UPDATES:
        return None
    if isinstance(raw, dict) and raw.get("status") in CLOSING:
        return None
    return FieldProblem(
        "incident_updates", f"has {count} updates, the most allowed ({MAX_UPDATES})"
    )


def capped(updates: tuple[U, ...]) -> tuple[U, ...]:
    """A timeline (newest first) of at most MAX_UPDATES: the newest, and the first."""
    if len(updates) <= MAX_UPDATES:
        return updates
    return (*updates[: MAX_UPDATES - 1], updates[-1])


def update_command(
    raw: object, known: Set[str], public_id: str, update_id: str, at: datetime, impact: Impact
) -> dict[str, Any]:
    """Checks an incident update's body; returns its ``update_incident`` command."""
    problems: list[FieldProblem] = []
    body = _fields(raw, {"status", "body", "components"}, {"status", "body"}, problems)
    text = _text(body, "body", MAX_BODY, problems)
    status = _choice(body, "status", [s.value for s in PublicIncidentStatus], problems)
    components = _components(body, known, problems)
    if problems:
        raise InvalidFields(problems)
    fields: dict[str, Any] = {"status": status, "body": text, "components": None}
    if components is not None:
        default = STATUS_OF_IMPACT[impact].value
        fields["components"] = {c: s or default for c, s in components.items()}
    return _command("update_incident", public_id, update_id, at, fields)


def edit_incident_command(
    raw: object, public_id: str, command_id: str, at: datetime
) -> dict[str, Any]:
    """Checks an incident edit ``{name?, impact?}`` (one at least); its ``edit_incident``."""
    problems: list[FieldProblem] = []
    body = _fields(raw, {"name", "impact"}, set(), problems)
    name = _text(body, "name", MAX_NAME, problems) if "name" in body else None
    impact = _choice(body, "impact", [i.value for i in Impact], problems)
    if not problems and name is None and impact is None:
        problems.append(FieldProblem("body", "must change name or impact"))
    if problems:
        raise InvalidFields(problems)
    return _command("edit_incident", public_id, command_id, at, {"name": name, "impact": impact})


def edit_update_command(
    raw: object, public_id: str, update_id: str, command_id: str, at: datetime
) -> dict[str, Any]:
    """Checks an update's new text ``{body}`` (to correct or redact it); its ``edit_update``."""
    problems: list[FieldProblem] = []
    body = _fields(raw, {"body"}, {"body"}, problems)
    text = _text(body, "body", MAX_BODY, problems)
    if problems:
        raise InvalidFields(problems)
    return _command("edit_update", public_id, command_id, at, {"update": update_id, "body": text})


def delete_command(
    op: str, public_id: str, command_id: str, at: datetime, update_id: str | None = None
) -> dict[str, Any]:
    """A ``delete_incident`` or ``delete_update`` command (``update_id`` for the latter)."""
    return _command(op, public_id, command_id, at, {"update": update_id})


def maintenance_command(
    raw: object, known: Set[str], maintenance_id: str, update_id: str, at: datetime
) -> dict[str, Any]:
    """Checks a new maintenance's body; returns its ``create_maintenance`` command."""
    problems: list[FieldProblem] = []
    allowed = {"name", "scheduled_for", "scheduled_until", "components", "body", "status"}
    required = {"name", "scheduled_for", "scheduled_until", "components"}
    body = _fields(raw, allowed, required, problems)
    name = _text(body, "name", MAX_NAME, problems)
    text = _text(body, "body", MAX_BODY, problems) if "body" in body else ""
    status = _choice(body, "status", [s.value for s in MaintenanceStatus], problems)
    starts = _instant(body, "scheduled_for", problems)
    ends = _instant(body, "scheduled_until", problems)
    components = _components(body, known, problems) or {}
    if starts is not None and ends is not None and ends <= starts:
        problems.append(FieldProblem("scheduled_until", "must be after scheduled_for"))
    elif ends is not None and ends <= at:
        # Wholly past, it would be history the page never had (and its automatic updates
        # older than its first).
        problems.append(FieldProblem("scheduled_until", "must be later than now"))
    if "components" in body and not components and not problems:
        problems.append(FieldProblem("components", "must name at least one component"))
    if problems:
        raise InvalidFields(problems)
    assert starts is not None
    assert ends is not None
    fields = {
        "name": name,
        "body": text or f"{name}.",
        "status": status or MaintenanceStatus.SCHEDULED.value,
        "scheduled_for": micros(starts),
        "scheduled_until": micros(ends),
        "components": list(components),
    }
    return _command("create_maintenance", maintenance_id, update_id, at, fields)


def maintenance_update_command(
    raw: object, maintenance_id: str, update_id: str, at: datetime
) -> dict[str, Any]:
    """Checks a maintenance update's body; returns its ``update_maintenance`` command."""
    problems: list[FieldProblem] = []
    body = _fields(raw, {"status", "body"}, {"status", "body"}, problems)
    text = _text(body, "body", MAX_BODY, problems)
    status = _choice(body, "status", [s.value for s in MaintenanceStatus], problems)
    if problems:
        raise InvalidFields(problems)
    return _command(
        "update_maintenance", maintenance_id, update_id, at, {"status": status, "body": text}
    )


def edit_maintenance_command(
    raw: object, known: Set[str], current: PublicMaintenance, command_id: str, at: datetime
) -> dict[str, Any]:
    """Checks a maintenance edit against ``current`` (as the clock has moved it at ``at``);
    returns its ``edit_maintenance`` command (``command_id`` is also its update's id).

    Unchanged fields are None. InvalidFields (400) for a bad field; Conflict (409) naming
    the field for a change what has happened forbids: a completed maintenance's window or
    components, a started one's start.
    """
    problems: list[FieldProblem] = []
    allowed = {"name", "scheduled_for", "scheduled_until", "components", "body", "status"}
    body = _fields(raw, allowed, set(), problems)
    name = _text(body, "name", MAX_NAME, problems) if "name" in body else None
    text = _text(body, "body", MAX_BODY, problems) if "body" in body else None
    status = _choice(body, "status", [s.value for s in MaintenanceStatus], problems)
    starts = _instant(body, "scheduled_for", problems)
    ends = _instant(body, "scheduled_until", problems)
    components = _components(body, known, problems)
    if isinstance(body.get("components"), list | dict) and not body["components"]:
        problems.append(FieldProblem("components", "must name at least one component"))
    if "status" in body and "body" not in body:
        problems.append(FieldProblem("body", "is required with status (the update's text)"))
    if not problems and not body:
        what = "name, scheduled_for, scheduled_until or components, or add an update (body)"
        problems.append(FieldProblem("body", f"must change {what}"))
    if problems:
        raise InvalidFields(problems)
    names = None if components is None else list(components)
    starts = None if starts == current.scheduled_for else starts
    ends = None if ends == current.scheduled_until else ends
    names = None if names is None or set(names) == set(current.component_ids) else names
    _check_window(current, at, starts, ends, names is not None)
    if text is not None:
        check_not_reopened(current, status)
    fields = {
        "name": name,
        "scheduled_for": None if starts is None else micros(starts),
        "scheduled_until": None if ends is None else micros(ends),
        "components": names,
        "body": text,
        "status": status,
    }
    return _command("edit_maintenance", current.id, command_id, at, fields)


def _check_window(
    current: PublicMaintenance,
    at: datetime,
    starts: datetime | None,
    ends: datetime | None,
    components: bool,
) -> None:
    """The rules of a maintenance's changed window (``starts``, ``ends``: None unchanged)."""
    changed = [
        name
        for name, given in (
            ("scheduled_for", starts is not None),
            ("scheduled_until", ends is not None),
            ("components", components),
        )
        if given
    ]
    if current.status is MaintenanceStatus.COMPLETED and changed:
        raise Conflict(
            f"maintenance {current.id!r} is completed: its {changed[0]} is history and can "
            "no longer change",
            field=changed[0],
        )
    if current.status in ACTIVE and starts is not None:
        raise Conflict(
            f"maintenance {current.id!r} has started: its start can no longer move (complete "
            "it and schedule another)",
            field="scheduled_for",
        )
    problems: list[FieldProblem] = []
    if starts is not None and starts < at:
        problems.append(
            FieldProblem(
                "scheduled_for",
                "must not be in the past (to start it now, add an in_progress update)",
            )
        )
    if ends is not None and ends <= at:
        problems.append(
            FieldProblem(
                "scheduled_until", "must be later than now (to end it now, add a completed update)"
            )
        )
    if (ends or current.scheduled_until) <= (starts or current.scheduled_for):
        problems.append(FieldProblem("scheduled_until", "must be after scheduled_for"))
    if problems:
        raise InvalidFields(problems)


def check_not_reopened(current: PublicMaintenance, status: str | None) -> None:
    """Conflict (409 naming ``status``) for an update that would take a completed
    maintenance (``current``, as the clock has moved it) back to an earlier status: the
    clock would complete it again at its old end, adding its automatic updates again."""
    if current.status is MaintenanceStatus.COMPLETED and status not in (
        None,
        MaintenanceStatus.COMPLETED.value,
    ):
        raise Conflict(
            f"maintenance {current.id!r} is completed: it cannot go back to {status} "
            "(schedule another)",
            field="status",
        )


def maintenance_delete_command(
    op: str, maintenance_id: str, command_id: str, at: datetime, update_id: str | None = None
) -> dict[str, Any]:
    """A ``delete_maintenance`` or ``delete_maintenance_update`` command (``update_id`` for
    the latter)."""
    return _command(op, maintenance_id, command_id, at, {"update": update_id})


def edit_maintenance_update_command(
    raw: object, maintenance_id: str, update_id: str, command_id: str, at: datetime
) -> dict[str, Any]:
    """Checks a maintenance update's new text ``{body}``; its ``edit_maintenance_update``."""
    command = edit_update_command(raw, maintenance_id, update_id, command_id, at)
    return {**command, "op": "edit_maintenance_update"}


def _instant(raw: Mapping[str, Any], name: str, problems: list[FieldProblem]) -> datetime | None:
    value = raw.get(name)
    if name not in raw:
        return None
    try:
        parsed = parse_rfc3339(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        problems.append(
            FieldProblem(name, "must be an RFC 3339 time with an offset, e.g. 2027-01-17T02:00:00Z")
        )
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        # The records sort newest first by mirroring times around 2100 (records.py):
        # outside these years they would sort wrongly or overflow.
        problems.append(FieldProblem(name, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}"))
        return None
    return parsed


def _command(
    op: str, target: str, update_id: str, at: datetime, fields: dict[str, Any]
) -> dict[str, Any]:
    return {"op": op, "id": target, "update_id": update_id, "at": micros(at), "fields": fields}


def with_idempotency_key(command: dict[str, Any], key: str, request: str) -> dict[str, Any]:
    """The command carrying a request's ``Idempotency-Key`` (hashed) and fingerprint: the
    writer applies at most one command per key (``records.IDEMPOTENCY``)."""
    return {**command, "idempotency": {"key": key, "request": request}}


def command_key(command: dict[str, Any]) -> str:
    """The command document's key: its time then its update id, so keys never collide."""
    return f"{format_rfc3339(from_micros(command['at']))}-{command['update_id']}"


def maintenance_from_command(command: dict[str, Any], known: Set[str]) -> PublicMaintenance:
    """The maintenance a ``create_maintenance`` command describes (known components only)."""
    fields = command["fields"]
    at = from_micros(command["at"])
    status = MaintenanceStatus(fields["status"])
    update = MaintenanceUpdate(command["update_id"], status, fields["body"], at, at)
    return PublicMaintenance(
        id=command["id"],
        name=fields["name"],
        status=status,
        scheduled_for=from_micros(fields["scheduled_for"]),
        scheduled_until=from_micros(fields["scheduled_until"]),
        component_ids=tuple(c for c in fields["components"] if c in known),
        updates=(update,),
        created_at=at,
        updated_at=at,
    )
