"""Problems (ITIL problem management): the cause behind one or more incidents.

A problem is opened from one or more incidents, investigated, documented as a known
error (its root cause and a workaround known), resolved once the cause is fixed, and
closed. Its states and the moves between them::

    new -> investigating -> known_error -> resolved -> closed (final)

- any state but closed may move to ``resolved`` or ``closed`` (closing a problem that
  was no problem, or a duplicate); a ``resolved`` one may go back to ``investigating``
  (the fix did not hold); ``known_error`` may go back to ``investigating`` too;
- ``known_error`` (the state, or ``known_error: true``) needs a root cause and a
  workaround, given in the same update or before; ``resolved`` needs a root cause.

This module is the edge and the rules: :func:`parse_create` and :func:`parse_action`
read request bodies strictly (unknown fields rejected by name, size limits, each problem
named in a 400), and the pure functions :func:`open_problem`, :func:`with_incident`,
:func:`without_incident` and :func:`updated` return the next version of a problem or
raise. Writing it, and the incidents it links, is ``core.problem_desk``'s job.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.errors import Conflict, FieldProblem, InvalidFields

# Size limits, in characters: a title is a line, the texts a few pages.
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_INCIDENT_ID = 128
# Incidents a creation may name at once (each is read and written), and a problem may hold.
MAX_CREATE_INCIDENTS = 100
MAX_INCIDENTS = 1_000
# The most characters of text one body holds: a creation's (an update's title and two
# texts hold fewer).
MAX_BODY_CHARACTERS = max(
    MAX_TITLE + MAX_TEXT + MAX_CREATE_INCIDENTS * MAX_INCIDENT_ID, MAX_TITLE + 2 * MAX_TEXT
)


class ProblemState(enum.StrEnum):
    """Where a problem is in its lifecycle."""

    NEW = "new"
    INVESTIGATING = "investigating"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"
    CLOSED = "closed"


# The states each state may move to; closed is final.
TRANSITIONS: Mapping[ProblemState, tuple[ProblemState, ...]] = {
    ProblemState.NEW: (
        ProblemState.INVESTIGATING,
        ProblemState.KNOWN_ERROR,
        ProblemState.RESOLVED,
        ProblemState.CLOSED,
    ),
    ProblemState.INVESTIGATING: (
        ProblemState.KNOWN_ERROR,
        ProblemState.RESOLVED,
        ProblemState.CLOSED,
    ),
    ProblemState.KNOWN_ERROR: (
        ProblemState.INVESTIGATING,
        ProblemState.RESOLVED,
        ProblemState.CLOSED,
    ),
    ProblemState.RESOLVED: (ProblemState.INVESTIGATING, ProblemState.CLOSED),
    ProblemState.CLOSED: (),
}


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem and what people found out about it; ``incidents`` are linked ids, in order.

    ``version`` counts its writes (1 when created): the stores write it only over the
    version before (compare-and-set).
    """

    id: str
    title: str
    state: ProblemState
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    version: int = 1
    description: str | None = None
    root_cause: str | None = None
    workaround: str | None = None
    known_error: bool = False
    incidents: tuple[str, ...] = ()


class InvalidProblemTransition(Conflict):
    """The problem's state does not allow the state asked for (409); lists those it allows."""

    def __init__(self, state: ProblemState, wanted: ProblemState) -> None:
        self.state = state
        self.allowed = tuple(s.value for s in TRANSITIONS[state])
        can = ", ".join(self.allowed) if self.allowed else "nothing (it is final)"
        super().__init__(
            f"a problem that is {state} cannot become {wanted}; it may become: {can}",
            field="state",
        )

    def details(self) -> dict[str, object]:
        """The field, the problem's state and the states it may move to."""
        return {**super().details(), "state": self.state.value, "allowed": list(self.allowed)}


class ClosedProblem(Conflict):
    """The problem is closed, which is final: it changes no more (409, ``allowed`` empty)."""

    def __init__(self, problem_id: str, what: str) -> None:
        super().__init__(f"problem {problem_id} is closed: {what}", field="state")

    def details(self) -> dict[str, object]:
        """The field, the problem's state and the states it may move to: none."""
        return {**super().details(), "state": ProblemState.CLOSED.value, "allowed": []}


@dataclass(frozen=True, slots=True)
class CreateProblem:
    """``POST /api/v1/problems``: a title, the incidents it comes from, a description."""

    title: str
    incidents: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class LinkIncident:
    """``link``: the incident is (also) caused by this problem."""

    incident: str


@dataclass(frozen=True, slots=True)
class UnlinkIncident:
    """``unlink``: the incident is not caused by this problem after all."""

    incident: str


@dataclass(frozen=True, slots=True)
class UpdateProblem:
    """``update``: the fields given change, the others stay; at least one is given."""

    title: str | None = None
    root_cause: str | None = None
    workaround: str | None = None
    known_error: bool | None = None
    state: ProblemState | None = None


ProblemRequest = LinkIncident | UnlinkIncident | UpdateProblem
ACTIONS = ("link", "unlink", "update")


@dataclass(frozen=True, slots=True)
class _Text:
    """One text field of a body: its size limit and whether it must be given."""

    name: str
    limit: int
    required: bool = False


def parse_create(body: object) -> CreateProblem:
    """Reads a creation body ``{title, incidents: [ids], description?}``; 400 naming each fault."""
    fields = {"title", "incidents", "description"}
    values, problems = _object(body, fields)
    texts = _texts(values, (_Text("title", MAX_TITLE, True), _Text("description", MAX_TEXT)))
    problems += texts[1]
    incidents = _incident_list(values.get("incidents"), problems)
    if problems:
        raise InvalidFields(problems)
    return CreateProblem(texts[0]["title"], incidents, texts[0].get("description"))


def parse_action(action: str, body: object) -> ProblemRequest:
    """Reads the body of ``POST /api/v1/problems/{id}/{action}``; 400 naming each fault."""
    if action in ("link", "unlink"):
        values, problems = _object(body, {"incident"})
        texts, more = _texts(values, (_Text("incident", MAX_INCIDENT_ID, True),))
        problems += more
        if problems:
            raise InvalidFields(problems)
        kind = LinkIncident if action == "link" else UnlinkIncident
        return kind(texts["incident"])
    if action == "update":
        return _parse_update(body)
    raise InvalidFields(
        [FieldProblem("action", f"unknown action {action!r}; use {', '.join(ACTIONS)}")]
    )


def _parse_update(body: object) -> UpdateProblem:
    fields = {"title", "root_cause", "workaround", "known_error", "state"}
    values, problems = _object(body, fields)
    texts, more = _texts(
        values,
        (_Text("title", MAX_TITLE), _Text("root_cause", MAX_TEXT), _Text("workaround", MAX_TEXT)),
    )
    problems += more
    known_error = values.get("known_error")
    if known_error is not None and not isinstance(known_error, bool):
        problems.append(FieldProblem("known_error", "must be true or false"))
    state: ProblemState | None = None
    raw_state = values.get("state")
    if raw_state is not None:
        if isinstance(raw_state, str) and raw_state in {s.value for s in ProblemState}:
            state = ProblemState(raw_state)
        else:
            names = ", ".join(s.value for s in ProblemState)
            problems.append(FieldProblem("state", f"must be one of {names}"))
    if not problems and not any(values.get(name) is not None for name in fields):
        problems.append(FieldProblem("body", f"give at least one of {', '.join(sorted(fields))}"))
    if problems:
        raise InvalidFields(problems)
    return UpdateProblem(
        title=texts.get("title"),
        root_cause=texts.get("root_cause"),
        workaround=texts.get("workaround"),
        known_error=known_error if isinstance(known_error, bool) else None,
        state=state,
    )


def _object(body: object, fields: set[str]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The body as an object (None: empty), and a problem for each field not in ``fields``."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidFields([FieldProblem("body", "must be a JSON object")])
    allowed = f"allowed: {', '.join(sorted(fields))}"
    unknown = [
        FieldProblem(str(name), f"unknown field; {allowed}") for name in body if name not in fields
    ]
    return body, unknown


def _texts(
    values: Mapping[str, Any], specs: Sequence[_Text]
) -> tuple[dict[str, str], list[FieldProblem]]:
    """The text fields given, stripped, and a problem for each missing or bad one."""
    found: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for spec in specs:
        value = values.get(spec.name)
        if value is None:
            if spec.required:
                problems.append(FieldProblem(spec.name, "required"))
        elif not isinstance(value, str):
            problems.append(FieldProblem(spec.name, "must be a string"))
        elif not value.strip():
            problems.append(FieldProblem(spec.name, "must not be empty"))
        elif len(value) > spec.limit:
            problems.append(
                FieldProblem(spec.name, f"at most {spec.limit} characters, not {len(value)}")
            )
        else:
            found[spec.name] = value.strip()
    return found, problems


def _incident_list(value: object, problems: list[FieldProblem]) -> tuple[str, ...]:
    """The ``incidents`` of a creation: 1 to MAX_CREATE_INCIDENTS ids, each once, in order."""
    if value is None:
        problems.append(FieldProblem("incidents", "required: the ids of one or more incidents"))
        return ()
    if not isinstance(value, list) or not value:
        problems.append(FieldProblem("incidents", "must be a non-empty list of incident ids"))
        return ()
    if len(value) > MAX_CREATE_INCIDENTS:
        problems.append(
            FieldProblem("incidents", f"at most {MAX_CREATE_INCIDENTS} ids, not {len(value)}")
        )
        return ()
    ids: dict[str, None] = {}
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_INCIDENT_ID:
            problems.append(
                FieldProblem(
                    f"incidents[{index}]",
                    f"must be an incident id of 1 to {MAX_INCIDENT_ID} characters",
                )
            )
            continue
        ids[item.strip()] = None
    return tuple(ids)


def open_problem(request: CreateProblem, problem_id: str, actor: str, now: datetime) -> Problem:
    """Returns the new problem (state new, version 1) linking the request's incidents."""
    return Problem(
        id=problem_id,
        title=request.title,
        state=ProblemState.NEW,
        created_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
        description=request.description,
        incidents=request.incidents,
    )


def with_incident(problem: Problem, incident_id: str, actor: str, now: datetime) -> Problem:
    """Returns the next version of ``problem`` linking ``incident_id`` (the same if linked).

    A closed problem links nothing (409); one at MAX_INCIDENTS links no more (400).
    """
    if incident_id in problem.incidents:
        return problem
    if problem.state is ProblemState.CLOSED:
        raise ClosedProblem(problem.id, "it links no more incidents")
    if len(problem.incidents) >= MAX_INCIDENTS:
        raise InvalidFields(
            [FieldProblem("incident", f"problem {problem.id} links {MAX_INCIDENTS}, the most")]
        )
    return _next(problem, actor, now, incidents=(*problem.incidents, incident_id))


def without_incident(problem: Problem, incident_id: str, actor: str, now: datetime) -> Problem:
    """Returns the next version of ``problem`` without ``incident_id``; 409 if not linked."""
    if incident_id not in problem.incidents:
        raise Conflict(
            f"incident {incident_id} is not linked to problem {problem.id}", field="incident"
        )
    if problem.state is ProblemState.CLOSED:
        raise ClosedProblem(problem.id, "its incidents stay")
    left = tuple(i for i in problem.incidents if i != incident_id)
    return _next(problem, actor, now, incidents=left)


def updated(problem: Problem, request: UpdateProblem, actor: str, now: datetime) -> Problem:
    """Returns the next version of ``problem`` with the update applied.

    Raises InvalidProblemTransition (409) for a state the current one may not move to,
    Conflict for any other change to a closed problem, and InvalidFields (400) naming
    ``root_cause`` or ``workaround`` when the known error or resolution they document is
    missing them, or ``known_error`` when it is false for a problem in that state.
    """
    if problem.state is ProblemState.CLOSED:
        if request.state is not None:
            raise InvalidProblemTransition(problem.state, request.state)
        raise ClosedProblem(problem.id, "it changes no more")
    state: ProblemState = problem.state
    if request.state is not None and request.state is not problem.state:
        if request.state not in TRANSITIONS[problem.state]:
            raise InvalidProblemTransition(problem.state, request.state)
        state = request.state
    root_cause = request.root_cause or problem.root_cause
    workaround = request.workaround or problem.workaround
    known_error = problem.known_error if request.known_error is None else request.known_error
    # Reaching the known-error state records the problem as a known error.
    if state is ProblemState.KNOWN_ERROR and request.state is ProblemState.KNOWN_ERROR:
        known_error = True
    problems: list[FieldProblem] = []
    if (known_error and not problem.known_error) or request.state is ProblemState.KNOWN_ERROR:
        problems += _documented(root_cause, workaround, "a known error")
    if state is ProblemState.KNOWN_ERROR and not known_error:
        problems.append(FieldProblem("known_error", "a problem in state known_error is one"))
    if state is ProblemState.RESOLVED and request.state is ProblemState.RESOLVED and not root_cause:
        problems.append(FieldProblem("root_cause", "required to resolve a problem"))
    if problems:
        raise InvalidFields(problems)
    return _next(
        problem,
        actor,
        now,
        title=request.title or problem.title,
        state=state,
        root_cause=root_cause,
        workaround=workaround,
        known_error=known_error,
    )


def _documented(root_cause: str | None, workaround: str | None, what: str) -> list[FieldProblem]:
    missing = [("root_cause", root_cause), ("workaround", workaround)]
    return [FieldProblem(name, f"required for {what}") for name, value in missing if not value]


def _next(problem: Problem, actor: str, now: datetime, **changes: Any) -> Problem:
    """The problem's next version: the changes, who and when, version + 1."""
    return replace(
        problem, **changes, updated_at=now, updated_by=actor, version=problem.version + 1
    )
