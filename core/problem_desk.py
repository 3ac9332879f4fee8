"""What people do to problems, written to the store: create, link, unlink, update.

Each operation reads the problem and the incidents it touches, works out their next
versions (``core.problems``), and writes them in ONE atomic write
(:meth:`core.store.problems.ProblemStore.write_problem`): the problem lists an incident
exactly when the incident's ``problem_id`` names the problem, whatever crashes. A link
or an unlink adds a ``problem_linked`` or ``problem_unlinked`` entry to the incident's
timeline, which reaches the incident event stream in the same write.

When another writer changed the problem or one of the incidents in between (a
correlator step, a responder), the write is refused (compare-and-set) and the operation
reads again and retries, up to :data:`ATTEMPTS` times; then it answers 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypeVar

from core.errors import Conflict, FieldProblem, InvalidFields, NotFound, PreconditionFailed
from core.incident import Incident, IncidentEvent
from core.problems import (
    CreateProblem,
    LinkIncident,
    Problem,
    ProblemRequest,
    UnlinkIncident,
    UpdateProblem,
    open_problem,
    updated,
    with_incident,
    without_incident,
)
from core.store import VersionConflict
from core.store.problems import ProblemConflict, ProblemStore

# Tries before a write that keeps losing to other writers gives up with 409.
ATTEMPTS = 5
LINKED = "problem_linked"
UNLINKED = "problem_unlinked"

T = TypeVar("T")


class ProblemDeskStore(ProblemStore, Protocol):
    """What the desk needs of the store: problems, and incidents read whole."""

    async def get_incident(self, incident_id: str) -> Incident | None:
        """Returns the incident with all its alerts, or None."""
        ...


async def create(
    store: ProblemDeskStore, request: CreateProblem, problem_id: str, actor: str, now: datetime
) -> Problem:
    """Creates the problem and links the request's incidents; 400 names an unknown one.

    An incident linked to another problem already is a 409 naming it (unlink it there).
    """

    async def attempt() -> Problem:
        incidents = [await _incident(store, i, "incidents") for i in request.incidents]
        for incident in incidents:
            _not_elsewhere(incident, problem_id)
        problem = open_problem(request, problem_id, actor, now)
        await _write(store, problem, incidents, LINKED, actor, now)
        return problem

    return await _retried(attempt)


async def act(
    store: ProblemDeskStore,
    problem_id: str,
    request: ProblemRequest,
    actor: str,
    now: datetime,
    expected: Collection[int] | None = None,
) -> Problem:
    """Applies a link, unlink or update to the problem; 404 if there is no such problem.

    ``expected`` are the versions the request accepts (``If-Match``; None: any): another
    one is a 412 carrying the current ETag, also when another writer came first and the
    problem is read again.
    """

    async def attempt() -> Problem:
        problem = await store.get_problem(problem_id)
        if problem is None:
            raise NotFound(f"no problem {problem_id!r}", field="id")
        if expected is not None and problem.version not in expected:
            raise PreconditionFailed(
                f"problem {problem.id} is at version {problem.version}", etag=etag(problem)
            )
        if isinstance(request, UpdateProblem):
            changed = updated(problem, request, actor, now)
            await store.write_problem(changed)
            return changed
        incident = await _incident(store, request.incident, "incident")
        if isinstance(request, LinkIncident):
            return await _link(store, problem, incident, actor, now)
        return await _unlink(store, problem, incident, request, actor, now)

    return await _retried(attempt)


def etag(problem: Problem) -> str:
    """The problem's ETag: its version, quoted (``If-Match`` takes it back)."""
    return f'"{problem.version}"'


async def _link(
    store: ProblemDeskStore, problem: Problem, incident: Incident, actor: str, now: datetime
) -> Problem:
    _not_elsewhere(incident, problem.id)
    changed = with_incident(problem, incident.id, actor, now)
    if changed is problem:
        if incident.problem_id == problem.id:
            return problem  # linked already: a retried request changes nothing
        # Listed but not named by the incident (a store restored from unlike backups):
        # written again, both sides agree.
        changed = replace(problem, version=problem.version + 1, updated_at=now, updated_by=actor)
    await _write(store, changed, [incident], LINKED, actor, now)
    return changed


async def _unlink(
    store: ProblemDeskStore,
    problem: Problem,
    incident: Incident,
    request: UnlinkIncident,
    actor: str,
    now: datetime,
) -> Problem:
    changed = without_incident(problem, request.incident, actor, now)
    # Only the problem's own link is undone; written with the problem, it is always there.
    linked = [incident] if incident.problem_id == problem.id else []
    await _write(store, changed, linked, UNLINKED, actor, now)
    return changed


async def _write(
    store: ProblemDeskStore,
    problem: Problem,
    incidents: list[Incident],
    kind: str,
    actor: str,
    now: datetime,
) -> None:
    """Writes the problem, each incident with ``problem_id`` set (or cleared), a timeline entry."""
    target = problem.id if kind == LINKED else None
    written = [replace(i, problem_id=target, version=i.version + 1) for i in incidents]
    detail = {"problem_id": problem.id, "problem_title": problem.title}
    events = [IncidentEvent(i.id, now, actor, kind, detail) for i in incidents]
    await store.write_problem(problem, written, events)


async def _incident(store: ProblemDeskStore, incident_id: str, field: str) -> Incident:
    incident = await store.get_incident(incident_id)
    if incident is None:
        raise InvalidFields([FieldProblem(field, f"no incident {incident_id!r}")])
    return incident


def _not_elsewhere(incident: Incident, problem_id: str) -> None:
    if incident.problem_id is not None and incident.problem_id != problem_id:
        raise Conflict(
            f"incident {incident.id} is linked to problem {incident.problem_id}; unlink it there",
            field="incident",
        )


async def _retried(attempt: Callable[[], Awaitable[T]]) -> T:
    """Runs ``attempt`` again while another writer beat it, at most ATTEMPTS times."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await attempt()
        except (ProblemConflict, VersionConflict):
            continue
    try:
        return await attempt()
    except (ProblemConflict, VersionConflict) as exc:
        raise Conflict(
            f"the problem or an incident kept changing ({exc}); try again", field="version"
        ) from exc
