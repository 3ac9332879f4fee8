"""What each incident action that is not a state change takes, read strictly from JSON.

The lifecycle's actions (acknowledge ... reopen, merge) are read by
``core.lifecycle_requests``; these are the others: assign, note, priority, and tasks.
:func:`parse_action` reads either kind, so the operator API has one edge: it raises
:class:`~core.errors.InvalidFields` naming every field at fault (missing, of the wrong
type, empty, too long, or unknown). What needs the rules (is the team one of theirs?)
is checked by ``core.incident_actions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import FieldProblem, InvalidFields
from core.lifecycle_requests import (
    MAX_NOTES,
    MAX_REASON,
    PERSON_ACTIONS,
    Request,
    TextField,
    parse_request,
    read_text_fields,
    request_fields,
)

# A team's or a person's name in the rules; a task's title is a line.
MAX_NAME = 200
MAX_TITLE = 500
MAX_PRIORITY = 16


@dataclass(frozen=True, slots=True)
class Assign:
    """Gives the incident to a team, a person or both (names from the rules)."""

    team: str | None = None
    person: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """Adds a note to the timeline."""

    text: str


@dataclass(frozen=True, slots=True)
class ChangePriority:
    """Sets the priority by hand (one of the matrix's P1..Pn), saying why."""

    priority: str
    reason: str


@dataclass(frozen=True, slots=True)
class AddTask:
    """Adds a task by hand."""

    title: str


@dataclass(frozen=True, slots=True)
class CompleteTask:
    """Marks task ``task_id`` done (the id comes from the path)."""

    task_id: str
    note: str | None = None


Other = Assign | Note | ChangePriority | AddTask | CompleteTask
ActionRequest = Request | Other

# The actions in the path ``/api/v1/incidents/{id}/{action}`` besides the lifecycle's.
_BODIES: Mapping[str, tuple[type[Any], tuple[TextField, ...]]] = {
    "assign": (
        Assign,
        (
            TextField("team", MAX_NAME, False),
            TextField("person", MAX_NAME, False),
            TextField("note", MAX_NOTES, False),
        ),
    ),
    "note": (Note, (TextField("text", MAX_NOTES, True),)),
    "priority": (
        ChangePriority,
        (TextField("priority", MAX_PRIORITY, True), TextField("reason", MAX_REASON, True)),
    ),
}
TASK_FIELDS = (TextField("title", MAX_TITLE, True),)
COMPLETE_FIELDS = (TextField("note", MAX_NOTES, False),)

# Every action of the path, lifecycle first.
ACTIONS: tuple[str, ...] = (*(a.value for a in PERSON_ACTIONS), *_BODIES)


def body_characters() -> int:
    """The most characters of text one body of an action or a task holds (an assign's)."""
    lifecycle = [sum(limit for limit, _ in request_fields(a).values()) for a in PERSON_ACTIONS]
    others = [sum(f.limit for f in fields) for _, fields in _BODIES.values()]
    tasks = [sum(f.limit for f in fields) for fields in (TASK_FIELDS, COMPLETE_FIELDS)]
    return max(*lifecycle, *others, *tasks)


def parse_action(
    action: str, body: object, choices: Mapping[str, Sequence[str]] | None = None
) -> ActionRequest:
    """Reads the request of ``action`` (a lifecycle action or assign, note, priority).

    Raises InvalidFields naming ``action`` if there is no such action, else each field
    at fault, a value outside its ``choices`` (``resolution_code``, ``priority``: the
    rules') among them; an assign needs ``team`` or ``person`` (both named when neither
    is given).
    """
    spec = _BODIES.get(action)
    if spec is None:
        if action in {a.value for a in PERSON_ACTIONS}:
            return parse_request(action, body, choices)
        names = ", ".join(ACTIONS)
        raise InvalidFields([FieldProblem("action", f"unknown action {action!r}; use {names}")])
    cls, fields = spec
    values = read_text_fields(body, fields, choices)
    if cls is Assign and "team" not in values and "person" not in values:
        reason = "give a team, a person or both"
        raise InvalidFields([FieldProblem("team", reason), FieldProblem("person", reason)])
    request: Other = cls(**values)
    return request


def parse_task(body: object) -> AddTask:
    """Reads the body of ``POST .../tasks``: ``{title}``."""
    return AddTask(**read_text_fields(body, TASK_FIELDS))


def parse_completion(task_id: str, body: object) -> CompleteTask:
    """Reads the body of ``POST .../tasks/{task_id}/complete``: ``{note?}``."""
    return CompleteTask(task_id, **read_text_fields(body, COMPLETE_FIELDS))
