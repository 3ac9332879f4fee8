"""The problem store: problems kept with compare-and-set, written atomically with incidents.

Both backends implement :class:`ProblemStore` (``sqlite_problems``, ``redis_problems``)
and pass ``tests/contract/test_problem_store_contract.py``. A link between a problem and
an incident lives on both sides: the problem lists the incident, the incident names the
problem (``Incident.problem_id``). :meth:`ProblemStore.write_problem` writes the problem
and the incidents it changes in ONE atomic write (one SQLite transaction; one Redis
script that wraps the incident commit script), so no crash leaves one side without the
other.

Problems are stored as the JSON :func:`encode_problem` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import orjson

from core.errors import StoreError
from core.incident import Incident, IncidentEvent
from core.problems import Problem, ProblemState
from core.timestamps import from_micros, micros


class ProblemConflict(StoreError):
    """Another writer changed the problem first (or created one with its id); re-read, retry."""


class ProblemStore(Protocol):
    """Problems, newest first, and their links to incidents."""

    async def get_problem(self, problem_id: str) -> Problem | None:
        """Returns the problem, or None."""
        ...

    async def list_problems(self, state: ProblemState | None, limit: int) -> list[Problem]:
        """Returns up to ``limit`` problems (in ``state``, if given), newest first.

        Newest by creation time, then id, descending; through an index on both stores.
        """
        ...

    async def write_problem(
        self,
        problem: Problem,
        incidents: Sequence[Incident] = (),
        events: Sequence[IncidentEvent] = (),
    ) -> None:
        """Writes the problem and, in the same atomic write, the incidents' changes.

        ``problem.version`` must be one more than the stored one (1: a new problem, which
        must not exist yet), else ProblemConflict and nothing is written. ``incidents``
        and ``events`` are written as ``core.store.incident_change`` commits them (each
        incident one version more than stored, its alerts left as stored, the events to
        its timeline and the incident event stream); if one moved, VersionConflict and
        nothing is written either.
        """
        ...


def encode_problem(problem: Problem) -> bytes:
    """Serialises a problem (instants in microseconds since the epoch)."""
    return orjson.dumps(
        {
            "id": problem.id,
            "title": problem.title,
            "state": problem.state.value,
            "created_at": micros(problem.created_at),
            "created_by": problem.created_by,
            "updated_at": micros(problem.updated_at),
            "updated_by": problem.updated_by,
            "version": problem.version,
            "description": problem.description,
            "root_cause": problem.root_cause,
            "workaround": problem.workaround,
            "known_error": problem.known_error,
            "incidents": list(problem.incidents),
        }
    )


def decode_problem(data: bytes | str) -> Problem:
    """Reads back a problem :func:`encode_problem` wrote."""
    raw = orjson.loads(data)
    return Problem(
        id=raw["id"],
        title=raw["title"],
        state=ProblemState(raw["state"]),
        created_at=from_micros(raw["created_at"]),
        created_by=raw["created_by"],
        updated_at=from_micros(raw["updated_at"]),
        updated_by=raw["updated_by"],
        version=raw["version"],
        description=raw["description"],
        root_cause=raw["root_cause"],
        workaround=raw["workaround"],
        known_error=raw["known_error"],
        incidents=tuple(raw["incidents"]),
    )
