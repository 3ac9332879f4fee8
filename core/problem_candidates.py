"""Problem candidates: incidents that recur, so that someone looks for their common cause.

Incidents recur when at least ``count`` of them opened within ``within`` (the rules'
``problems.recurrence``) share one of:

- their group key (``kind: group_key``): the same alerts grouped the same way, an
  incident that resolves and comes back;
- their category and service (``kind: category_service``): different alerts, the same
  kind of failure of the same service.

Incidents already linked to a problem are not counted (someone looks into them), nor
those merged into another incident (the one they were merged into counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.incident import Incident
from core.store import IncidentQuery, IncidentStore

DEFAULT_COUNT = 3
DEFAULT_WITHIN = timedelta(days=30)
# The most incidents of the period a scan reads (the newest): bounds the work of one
# request whatever the store holds; the scan says when it bit.
MAX_SCANNED = 10_000


@dataclass(frozen=True, slots=True)
class Recurrence:
    """How many incidents within how long make a candidate (defaults: 3 within 30 days)."""

    count: int = DEFAULT_COUNT
    within: timedelta = DEFAULT_WITHIN


@dataclass(frozen=True, slots=True)
class ProblemRules:
    """The rules' ``problems`` section."""

    recurrence: Recurrence = Recurrence()


@dataclass(frozen=True, slots=True)
class Candidate:
    """Incidents that recur: what they share (``key``), their ids oldest first, and when."""

    kind: str
    key: Mapping[str, str]
    incidents: tuple[str, ...]
    first_opened_at: datetime
    last_opened_at: datetime

    @property
    def count(self) -> int:
        """How many incidents recur."""
        return len(self.incidents)


@dataclass(frozen=True, slots=True)
class CandidateScan:
    """The candidates of the period from ``since``, and how many incidents were read."""

    candidates: list[Candidate]
    since: datetime
    scanned: int
    limit: int

    @property
    def truncated(self) -> bool:
        """Whether the period holds more incidents than were read (the oldest were not)."""
        return self.scanned >= self.limit


async def scan_candidates(
    store: IncidentStore, recurrence: Recurrence, now: datetime, limit: int = MAX_SCANNED
) -> CandidateScan:
    """Reads the incidents opened within ``recurrence.within`` before ``now``; finds candidates.

    Through the stores' index of opening times, as summaries (no alert is decoded).
    """
    since = now - recurrence.within
    summaries = await store.incident_summaries(IncidentQuery(opened_after=since, limit=limit))
    found = find_candidates((s.incident for s in summaries), recurrence)
    return CandidateScan(found, since, len(summaries), limit)


def find_candidates(incidents: Iterable[Incident], recurrence: Recurrence) -> list[Candidate]:
    """Returns the candidates among ``incidents`` (those of the period), most incidents first.

    Then the latest recurrence first, then by key, so that the order is stable.
    """
    by_kind: dict[tuple[str, tuple[tuple[str, str], ...]], list[Incident]] = {}
    for incident in incidents:
        if incident.problem_id is not None or incident.merged_into is not None:
            continue
        by_kind.setdefault(("group_key", (("group_key", incident.group_key),)), []).append(incident)
        if incident.category is not None and incident.service is not None:
            key = (("category", incident.category), ("service", incident.service))
            by_kind.setdefault(("category_service", key), []).append(incident)
    found = [
        _candidate(kind, key, members)
        for (kind, key), members in by_kind.items()
        if len(members) >= recurrence.count
    ]
    found.sort(key=lambda c: (c.kind, sorted(c.key.items())))
    found.sort(key=lambda c: (c.count, c.last_opened_at), reverse=True)
    return found


def _candidate(kind: str, key: tuple[tuple[str, str], ...], members: list[Incident]) -> Candidate:
    members.sort(key=lambda i: (i.opened_at, i.id))
    return Candidate(
        kind,
        dict(key),
        tuple(i.id for i in members),
        members[0].opened_at,
        members[-1].opened_at,
    )
