"""Priority from impact and urgency through a matrix, and SLA targets per priority.

Impact and urgency are levels numbered from 1 (the most severe) and may be named
(``high``, ``medium``, ``low``). The default is ITIL's 3x3 matrix, ``P = I + U - 1``,
giving P1..P5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rules.sla_rules import SlaEscalation


def priority_name(level: int) -> str:
    """Writes a priority level as ``P1``, ``P2``, ..."""
    return f"P{level}"


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA target: met ``within`` this time; warnings once each ``warn_at`` has passed."""

    within: timedelta
    warn_at: tuple[timedelta, ...] = ()


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """The SLA of one priority: time to acknowledge and time to resolve."""

    priority: int
    acknowledge: SlaClock | None
    resolve: SlaClock | None


@dataclass(frozen=True, slots=True)
class PriorityMatrix:
    """Maps (impact, urgency) levels to a priority level; rows are impacts."""

    impacts: tuple[str, ...]  # level names, most severe first
    urgencies: tuple[str, ...]
    cells: tuple[tuple[int, ...], ...]  # cells[impact - 1][urgency - 1]
    default_impact: int  # used when no categorisation rule sets one
    default_urgency: int

    @property
    def levels(self) -> int:
        """The number of priorities the matrix can give (the largest cell)."""
        return max(max(row) for row in self.cells)

    def priority(self, impact: int, urgency: int) -> int:
        """Returns the priority level for 1-based impact and urgency levels."""
        return self.cells[impact - 1][urgency - 1]

    def impact_level(self, text: str) -> int | None:
        """Reads an impact given by name or number; None if there is no such level."""
        return _level(text, self.impacts)

    def urgency_level(self, text: str) -> int | None:
        """Reads an urgency given by name or number; None if there is no such level."""
        return _level(text, self.urgencies)


@dataclass(frozen=True, slots=True)
class PriorityRules:
    """The matrix and the SLA targets of each priority (absent: no SLA)."""

    matrix: PriorityMatrix
    sla: tuple[SlaTarget, ...]
    # Who SLA warnings and breaches reach for incidents whose team names nobody.
    sla_escalation: SlaEscalation | None = None

    def sla_for(self, priority: int) -> SlaTarget | None:
        """Returns the SLA targets for a priority level, if the rules set any."""
        return next((t for t in self.sla if t.priority == priority), None)


def _level(text: str, names: tuple[str, ...]) -> int | None:
    if text in names:
        return names.index(text) + 1
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(names):
        return int(text)
    return None


LEVEL_NAMES = ("high", "medium", "low")


def additive_matrix(impacts: tuple[str, ...], urgencies: tuple[str, ...]) -> PriorityMatrix:
    """The matrix ``P = I + U - 1`` for the given levels (ITIL's default at 3x3)."""
    cells = tuple(
        tuple(i + u - 1 for u in range(1, len(urgencies) + 1)) for i in range(1, len(impacts) + 1)
    )
    return PriorityMatrix(impacts, urgencies, cells, len(impacts), len(urgencies))


def _clock(within: timedelta) -> SlaClock:
    return SlaClock(within, (within * 3 / 4,))


# Widely copied ITIL-style targets (shared/reference/itil.md); warnings at 75 %.
DEFAULT_SLA = tuple(
    SlaTarget(level, _clock(ack), _clock(resolve))
    for level, ack, resolve in (
        (1, timedelta(minutes=5), timedelta(hours=1)),
        (2, timedelta(minutes=15), timedelta(hours=4)),
        (3, timedelta(hours=1), timedelta(hours=8)),
        (4, timedelta(hours=4), timedelta(hours=24)),
        (5, timedelta(days=1), timedelta(weeks=1)),
    )
)

DEFAULT_PRIORITY = PriorityRules(additive_matrix(LEVEL_NAMES, LEVEL_NAMES), DEFAULT_SLA)
