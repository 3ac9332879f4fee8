"""Decoders: each turns one wire format into normalised Alerts plus a list of item problems."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import ItemProblem
from core.model import Alert


@dataclass(slots=True)
class Decoded:
    """What a decoder made of a body: the valid alerts and the problems of the invalid items."""

    alerts: list[Alert] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)
