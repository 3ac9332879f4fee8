"""What people do to an incident: each action returns the changed incident and its events.

State changes go through :func:`core.lifecycle.apply` (the one place a state changes);
the other actions are here, each one function: :func:`assign` (a team or a person from
the rules), :func:`note`, :func:`change_priority` (one of the matrix's, with a reason),
:func:`add_task` and :func:`complete_task` (who and when), and :func:`merge`, which
resolves one incident as a duplicate of another and moves its alerts over. :func:`act`
dispatches a request read by ``core.incident_requests``.

Which actions an incident allows, besides the lifecycle's (``allowed_actions``)::

    assign, priority, merge    while it is open (triggered, acknowledged, on_hold)
    note, tasks                until it is closed (a resolved incident takes follow-ups)

and a merged incident is not reopened (work on the one it went into).

A forbidden action is InvalidTransition (409) listing :func:`available_actions`. Every
function here is pure: the caller reads, then writes the result in one compare-and-set
(``core.store.incident_change``) with the version one higher.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidFields,
    InvalidTransition,
    NotFound,
)
from core.incident import Incident, IncidentAlert, IncidentEvent, IncidentState, Task
from core.incident_requests import (
    ActionRequest,
    AddTask,
    Assign,
    ChangePriority,
    CompleteTask,
    Note,
)
from core.lifecycle import Actor, LifecyclePolicy, allowed_actions, apply
from core.lifecycle_requests import Merge, Reopen
from core.roles import Role
from core.timestamps import format_rfc3339

# Where a task comes from: the category's rules, or a person.
RULES = "rules"
PERSON = "person"
# How many names a 400 for an unknown team or person lists.
_NAMES_LISTED = 20
# Tasks an incident holds at most, done or not: every write and every list page carries
# them all, so a loop adding tasks would make each of those slower without end.
MAX_TASKS = 100


@dataclass(frozen=True, slots=True)
class Directory:
    """What the rules in force say about the names and values an action may use."""

    teams: Collection[str] = ()
    people: Collection[str] = ()
    priorities: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5")
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)


@dataclass(frozen=True, slots=True)
class Acted:
    """An incident after an action, and the timeline events that record it."""

    incident: Incident
    events: tuple[IncidentEvent, ...]


@dataclass(frozen=True, slots=True)
class Merged:
    """Both incidents after a merge, their events, and the alerts that moved to the target."""

    source: Incident
    target: Incident
    events: tuple[IncidentEvent, ...]
    moved: tuple[IncidentAlert, ...]


def available_actions(incident: Incident) -> tuple[str, ...]:
    """The actions a person may take on the incident now, as the API's paths name them.

    A merged incident is not reopened: its alerts and its group went to the incident it
    was merged into, which is the one to work on.
    """
    lifecycle = allowed_actions(incident.state)
    if incident.merged_into is not None:
        lifecycle = tuple(a for a in lifecycle if a != "reopen")
    others: list[str] = []
    if incident.is_open:
        others += ["assign", "priority"]
    if incident.state is not IncidentState.CLOSED:
        others += ["note", "tasks"]
    return (*lifecycle, *others)


def act(
    incident: Incident, request: ActionRequest, actor: Actor, now: datetime, directory: Directory
) -> Acted:
    """Returns the incident after ``request`` by ``actor`` at ``now``, with its events.

    A merge needs the other incident too: :func:`merge`, not this (ValueError).
    """
    match request:
        case Assign():
            return assign(incident, request, actor, now, directory)
        case Note(text=text):
            return note(incident, text, actor, now)
        case ChangePriority():
            return change_priority(incident, request, actor, now, directory)
        case AddTask(title=title):
            return add_task(incident, title, actor, now)
        case CompleteTask():
            return complete_task(incident, request, actor, now)
        case Merge():
            raise ValueError("a merge takes both incidents: use merge()")
    if isinstance(request, Reopen) and incident.merged_into is not None:
        raise InvalidTransition("reopen", incident.state.value, available_actions(incident))
    try:
        changed = apply(incident, request, actor, now, directory.policy)
    except InvalidTransition as exc:
        # The 409 lists every action the incident allows, not only the lifecycle's.
        raise InvalidTransition(exc.action, exc.state, available_actions(incident)) from exc
    return Acted(changed.incident, (changed.event,))


def assign(
    incident: Incident, request: Assign, actor: Actor, now: datetime, directory: Directory
) -> Acted:
    """Gives the incident to the team and/or person named (each must be in the rules)."""
    _check(incident, "assign", actor)
    problems = [
        FieldProblem(name, _unknown(kind, value, known))
        for name, kind, value, known in (
            ("team", "team", request.team, directory.teams),
            ("person", "person", request.person, directory.people),
        )
        if value is not None and value not in known
    ]
    if problems:
        raise InvalidFields(problems)
    changed = incident
    detail: dict[str, object] = {}
    if request.team is not None:
        changed = replace(changed, team=request.team)
        detail |= {"team": request.team, "previous_team": incident.team}
    if request.person is not None:
        changed = replace(changed, assignee=request.person)
        detail |= {"person": request.person, "previous_person": incident.assignee}
    if request.note is not None:
        detail["note"] = request.note
    return _one(changed, now, actor, "assigned", detail)


def note(incident: Incident, text: str, actor: Actor, now: datetime) -> Acted:
    """Adds a note to the timeline (the incident itself does not change)."""
    _check(incident, "note", actor)
    return _one(incident, now, actor, "note", {"text": text})


def change_priority(
    incident: Incident, request: ChangePriority, actor: Actor, now: datetime, directory: Directory
) -> Acted:
    """Sets the priority by hand to one of the matrix's, with the reason on the timeline."""
    _check(incident, "priority", actor)
    if request.priority not in directory.priorities:
        names = ", ".join(directory.priorities)
        raise InvalidFields(
            [FieldProblem("priority", f"{request.priority!r} is not one of {names}")]
        )
    detail = {"from": incident.priority, "to": request.priority, "reason": request.reason}
    changed = replace(incident, priority=request.priority)
    return _one(changed, now, actor, "priority_changed", detail)


def add_task(incident: Incident, title: str, actor: Actor, now: datetime) -> Acted:
    """Adds a task by hand, recording who added it and when."""
    _check(incident, "tasks", actor)
    if len(incident.tasks) >= MAX_TASKS:
        raise Conflict(
            f"incident {incident.id} has {MAX_TASKS} tasks, the most it holds", field="tasks"
        )
    [task] = new_tasks(incident.tasks, (title,), PERSON, actor.name, now)
    changed = replace(incident, tasks=(*incident.tasks, task))
    return _one(changed, now, actor, "task_added", _task_detail(task))


def complete_task(incident: Incident, request: CompleteTask, actor: Actor, now: datetime) -> Acted:
    """Marks a task done, recording who and when; a task is completed once."""
    _check(incident, "tasks", actor)
    found = next((t for t in incident.tasks if t.id == request.task_id), None)
    if found is None:
        raise NotFound(f"incident {incident.id} has no task {request.task_id!r}", field="task_id")
    if found.completed_at is not None:
        raise Conflict(
            f"task {found.id} was completed by {found.completed_by} already", field="task_id"
        )
    done = replace(found, completed_by=actor.name, completed_at=now)
    tasks = tuple(done if t.id == found.id else t for t in incident.tasks)
    detail = _task_detail(done)
    if request.note is not None:
        detail["note"] = request.note
    return _one(replace(incident, tasks=tasks), now, actor, "task_completed", detail)


def merge(
    source: Incident,
    target: Incident,
    actor: Actor,
    now: datetime,
    directory: Directory,
    history: Sequence[IncidentEvent] = (),
    earlier: int = 0,
) -> Merged:
    """Resolves ``source`` as a duplicate of ``target`` and moves its alerts there.

    The source is resolved by the lifecycle (code ``duplicate``, ``merged_into`` set);
    the target gets each alert of the source it lacks, or holds an older report of, and
    an earlier sweep time if the source had one. The source's timeline moves over too:
    ``history`` (its latest entries, oldest first; ``earlier`` more before them stay on
    the source only) is copied into the target's as ``merged_entry`` events, each with
    the original's kind, time, actor and detail. Both timelines say so (``merged_into``,
    ``merged_from``). The target must be another incident, and open (409).
    """
    if source.id == target.id:
        raise InvalidFields([FieldProblem("into", "is this incident itself")])
    if not target.is_open:
        raise Conflict(
            f"incident {target.id} is {target.state.value}: merge into an open one", field="into"
        )
    try:
        resolved = apply(source, Merge(target.id), actor, now, directory.policy)
    except InvalidTransition as exc:
        raise InvalidTransition(exc.action, exc.state, available_actions(source)) from exc
    held = target.alerts
    moved = tuple(
        alert
        for fingerprint, alert in source.alerts.items()
        if fingerprint not in held or alert.last_seen > held[fingerprint].last_seen
    )
    sweeps = [t for t in (target.sweep_at, source.sweep_at) if t is not None]
    changed = replace(
        target,
        alerts={**target.alerts, **{a.fingerprint: a for a in moved}},
        sweep_at=min(sweeps, default=None),
    )
    at = resolved.event.at
    copied = tuple(
        IncidentEvent(
            target.id,
            at,
            entry.actor,
            "merged_entry",
            {
                "incident": source.id,
                "kind": entry.kind,
                "at": format_rfc3339(entry.at),
                "detail": dict(entry.detail),
            },
        )
        for entry in history
    )
    detail = {
        "incident": source.id,
        "title": source.title,
        "alerts": len(moved),
        "timeline": len(copied),
        "timeline_left_on_source": earlier,
    }
    joined = IncidentEvent(target.id, at, actor.name, "merged_from", detail)
    return Merged(resolved.incident, changed, (resolved.event, *copied, joined), moved)


def new_tasks(
    existing: tuple[Task, ...], titles: tuple[str, ...], source: str, by: str, at: datetime
) -> tuple[Task, ...]:
    """Returns tasks for ``titles``, numbered after ``existing`` (ids "1", "2", ...)."""
    first = 1 + max((int(t.id) for t in existing if t.id.isdigit()), default=0)
    return tuple(Task(str(first + n), title, source, by, at) for n, title in enumerate(titles))


def rules_tasks(incident: Incident, titles: tuple[str, ...], at: datetime) -> Acted:
    """Adds the category's tasks from the rules to a newly categorised incident (Tocsin's).

    Titles it already has from the rules are not added again; each new task gets a
    ``task_added`` event.
    """
    have = {t.title for t in incident.tasks if t.source == RULES}
    wanted = tuple(dict.fromkeys(t for t in titles if t not in have))
    tasks = new_tasks(incident.tasks, wanted, RULES, "tocsin", at)
    events = tuple(
        IncidentEvent(incident.id, at, "tocsin", "task_added", _task_detail(t)) for t in tasks
    )
    return Acted(replace(incident, tasks=(*incident.tasks, *tasks)), events)


def _check(incident: Incident, action: str, actor: Actor) -> None:
    """Raises Forbidden below a responder, InvalidTransition if the state does not allow it."""
    if actor.role is None or not actor.role.allows(Role.RESPONDER):
        raise Forbidden(f"{action} needs a responder key or higher")
    if action not in available_actions(incident):
        raise InvalidTransition(action, incident.state.value, available_actions(incident))


def _one(
    incident: Incident, at: datetime, actor: Actor, kind: str, detail: Mapping[str, object]
) -> Acted:
    return Acted(incident, (IncidentEvent(incident.id, at, actor.name, kind, dict(detail)),))


def _task_detail(task: Task) -> dict[str, object]:
    return {"task_id": task.id, "title": task.title, "source": task.source}


def _unknown(kind: str, value: str, known: Collection[str]) -> str:
    names = sorted(known)
    listed = ", ".join(names[:_NAMES_LISTED]) + (" ..." if len(names) > _NAMES_LISTED else "")
    return f"unknown {kind} {value!r}; the rules define: {listed or 'none'}"
