"""The rules in force and what is built from them, swapped as one on reload."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.gate import SourceGate
from rules.model import Rules


@dataclass(frozen=True, slots=True)
class RulesVersion:
    """One loaded version of the rules with the ingest gate built from it."""

    rules: Rules
    gate: SourceGate


class RulesState:
    """Holds the current RulesVersion; a reload replaces it in one assignment."""

    def __init__(self, version: RulesVersion) -> None:
        self.current = version

    def gate(self) -> SourceGate:
        """Returns the ingest gate of the rules in force."""
        return self.current.gate
