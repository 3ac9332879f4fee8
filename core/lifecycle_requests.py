"""What each lifecycle action takes: one typed request per action, read strictly from JSON.

:func:`parse_request` is the edge for the operator API: it turns a JSON body into the
request of the action named, or raises :class:`~core.errors.InvalidFields` naming every
field at fault (missing, of the wrong type, empty, too long, or unknown). What needs the
rules (is the resolution code in their list?) is checked by ``core.lifecycle.apply``.

The automatic requests (:class:`AutoResolve`, :class:`AutoReopen`, :class:`AutoClose`,
:class:`SourceAcknowledge`, :class:`Retrigger`) are made by Tocsin itself, never read from a body.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from core.errors import FieldProblem, InvalidFields

# Size limits, in characters: a reason is a sentence, notes are a few paragraphs.
MAX_REASON = 1_000
MAX_NOTES = 10_000
MAX_CODE = 63
# An incident id (Tocsin's are 32 hex digits; tests and imports may use others).
MAX_ID = 200


class Action(enum.StrEnum):
    """What can happen to an incident's state; ``auto_`` and ``source_`` ones only Tocsin does."""

    ACKNOWLEDGE = "acknowledge"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"
    ESCALATE = "escalate"
    AUTO_RESOLVE = "auto_resolve"
    AUTO_REOPEN = "auto_reopen"
    AUTO_CLOSE = "auto_close"
    SOURCE_ACKNOWLEDGE = "source_acknowledge"
    RETRIGGER = "retrigger"


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Someone owns the incident now; ``note`` optional."""

    action: ClassVar[Action] = Action.ACKNOWLEDGE
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """The incident waits on something outside (a vendor, a change): ``reason`` says what."""

    action: ClassVar[Action] = Action.HOLD
    reason: str


@dataclass(frozen=True, slots=True)
class Resume:
    """The wait is over; the incident goes back to where it was."""

    action: ClassVar[Action] = Action.RESUME
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Resolve:
    """A person resolved it: a resolution code from the rules' list, and notes."""

    action: ClassVar[Action] = Action.RESOLVE
    resolution_code: str
    notes: str


@dataclass(frozen=True, slots=True)
class Close:
    """A person confirms the resolution, before the auto-close delay ends it anyway."""

    action: ClassVar[Action] = Action.CLOSE
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reopen:
    """A person says the resolution did not hold: ``reason`` says why."""

    action: ClassVar[Action] = Action.REOPEN
    reason: str


@dataclass(frozen=True, slots=True)
class Merge:
    """A person says the incident duplicates incident ``into``: it moves there, resolved."""

    action: ClassVar[Action] = Action.MERGE
    into: str


@dataclass(frozen=True, slots=True)
class Escalate:
    """A person pages the escalation policy's next level now (PagerDuty's escalate).

    An acknowledged incident is triggered again, so that the next level can acknowledge.
    """

    action: ClassVar[Action] = Action.ESCALATE
    note: str | None = None


@dataclass(frozen=True, slots=True)
class AutoResolve:
    """Tocsin resolves: all its alerts resolved (``stale``: an expiry resolved the last)."""

    action: ClassVar[Action] = Action.AUTO_RESOLVE
    reason: str
    stale: bool = False


@dataclass(frozen=True, slots=True)
class AutoReopen:
    """Tocsin reopens: alert ``fingerprint`` fired again within the reopen window."""

    action: ClassVar[Action] = Action.AUTO_REOPEN
    reason: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class AutoClose:
    """Tocsin closes a resolved incident once the rules' ``auto_close_after`` passed."""

    action: ClassVar[Action] = Action.AUTO_CLOSE


@dataclass(frozen=True, slots=True)
class SourceAcknowledge:
    """The alert's sender acknowledged it (a PagerDuty ``acknowledge`` event by dedup key).

    Tocsin acknowledges the incident for the sender: automatic, but attributed to it.
    """

    action: ClassVar[Action] = Action.SOURCE_ACKNOWLEDGE
    source: str
    fingerprint: str
    dedup_key: str | None = None


@dataclass(frozen=True, slots=True)
class Retrigger:
    """Tocsin triggers an acknowledged incident again: its acknowledgement timed out."""

    action: ClassVar[Action] = Action.RETRIGGER
    reason: str


Request = (
    Acknowledge
    | Hold
    | Resume
    | Resolve
    | Close
    | Reopen
    | Merge
    | Escalate
    | AutoResolve
    | AutoReopen
    | AutoClose
    | SourceAcknowledge
    | Retrigger
)


@dataclass(frozen=True, slots=True)
class TextField:
    """One text field of a request body: its size limit and whether it must be given.

    ``refused`` maps values a person may not give here to why (another action sets them).
    """

    name: str
    limit: int
    required: bool
    refused: tuple[tuple[str, str], ...] = ()


# ``duplicate`` is the code of a merge, which also records the incident merged into: a
# resolve that says it by hand would leave ``merged_into`` empty.
_MERGE_ONLY = (
    ("duplicate", 'set by a merge only: POST /api/v1/incidents/{id}/merge {"into": id}'),
)


# The body each person's action takes; the request class is built from the fields read.
_BODIES: Mapping[Action, tuple[type[Any], tuple[TextField, ...]]] = {
    Action.ACKNOWLEDGE: (Acknowledge, (TextField("note", MAX_NOTES, False),)),
    Action.HOLD: (Hold, (TextField("reason", MAX_REASON, True),)),
    Action.RESUME: (Resume, (TextField("note", MAX_NOTES, False),)),
    Action.RESOLVE: (
        Resolve,
        (
            TextField("resolution_code", MAX_CODE, True, _MERGE_ONLY),
            TextField("notes", MAX_NOTES, True),
        ),
    ),
    Action.CLOSE: (Close, (TextField("note", MAX_NOTES, False),)),
    Action.REOPEN: (Reopen, (TextField("reason", MAX_REASON, True),)),
    Action.MERGE: (Merge, (TextField("into", MAX_ID, True),)),
    Action.ESCALATE: (Escalate, (TextField("note", MAX_NOTES, False),)),
}

PERSON_ACTIONS = tuple(_BODIES)


def request_fields(action: Action) -> Mapping[str, tuple[int, bool]]:
    """The body fields of a person's action: name -> (size limit, required); for OpenAPI."""
    return {f.name: (f.limit, f.required) for f in _BODIES[action][1]}


def parse_request(
    action: str, body: object, choices: Mapping[str, Sequence[str]] | None = None
) -> Request:
    """Reads the request of the person's action ``action`` from a decoded JSON body.

    Raises InvalidFields naming each field at fault: ``action`` if there is no such
    action, ``body`` if it is not an object, then every unknown, missing, non-string,
    empty or over-long field, and every field whose value is not one of its
    ``choices`` (e.g. ``resolution_code``: the rules' codes). No body (None) counts as
    an empty object.
    """
    if action not in PERSON_ACTIONS:
        names = ", ".join(PERSON_ACTIONS)
        raise InvalidFields([FieldProblem("action", f"unknown action {action!r}; use {names}")])
    cls, fields = _BODIES[Action(action)]
    request: Request = cls(**read_text_fields(body, fields, choices))
    return request


def read_text_fields(
    body: object,
    fields: tuple[TextField, ...],
    choices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """Reads the text fields of a JSON body: those given, stripped, by name.

    Raises InvalidFields naming ``body`` if it is not an object (None counts as an
    empty one), else each unknown, missing, non-string, empty or over-long field and
    each one whose stripped value is not one of its ``choices``, all in one error.
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidFields([FieldProblem("body", "must be a JSON object")])
    known = {f.name for f in fields}
    problems = [
        FieldProblem(str(name), f"unknown field; {_allowed(known)}")
        for name in body
        if name not in known
    ]
    values: dict[str, str] = {}
    for spec in fields:
        value = body.get(spec.name)
        problem = _check(spec, value, (choices or {}).get(spec.name))
        if problem is not None:
            problems.append(FieldProblem(spec.name, problem))
        elif isinstance(value, str):
            values[spec.name] = value.strip()
    if problems:
        raise InvalidFields(problems)
    return values


def _check(spec: TextField, value: object, choices: Sequence[str] | None) -> str | None:
    """Says what is wrong with one field's value, or None."""
    if value is None:
        return "required" if spec.required else None
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be empty"
    if len(value) > spec.limit:
        return f"at most {spec.limit} characters, not {len(value)}"
    refused = dict(spec.refused).get(value.strip())
    if refused is not None:
        return f"{value.strip()!r} is {refused}"
    if choices is not None and value.strip() not in choices:
        return f"{value.strip()!r} is not one of {', '.join(choices)}"
    return None


def _allowed(known: set[str]) -> str:
    return f"allowed: {', '.join(sorted(known))}" if known else "this action takes none"
