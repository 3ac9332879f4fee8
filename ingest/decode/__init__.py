"""Decoders: each turns one wire format into normalised Alerts plus a list of item problems.

A format is split in two (:class:`BatchFormat`): its envelope, which yields the items of
a request (so that the HTTP layer can count and rate-limit them before decoding any), and
the decoder of one item. :func:`decode_items` runs the second over the first in slices,
yielding to the event loop between them, so a large batch never blocks other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import MAX_PROBLEMS, ItemProblem, MalformedInput
from core.model import Alert
from ingest.decode.fields import AlertLimits


class ProblemList:
    """The problems of a request: the first :data:`MAX_PROBLEMS` kept, the rest only counted.

    A batch of a million empty items has millions of problems; keeping (and answering)
    them all would cost gigabytes. ``len()`` is the full count, so a decoder can still
    tell whether an item added one.
    """

    __slots__ = ("_kept", "_total")

    def __init__(self, problems: Sequence[ItemProblem] = ()) -> None:
        self._kept: list[ItemProblem] = []
        self._total = 0
        for problem in problems:
            self.append(problem)

    def append(self, problem: ItemProblem) -> None:
        """Records a problem (kept if fewer than MAX_PROBLEMS are, counted in any case)."""
        self._total += 1
        if len(self._kept) < MAX_PROBLEMS:
            self._kept.append(problem)

    def __len__(self) -> int:
        return self._total

    def __bool__(self) -> bool:
        return self._total > 0

    def __iter__(self) -> Iterator[ItemProblem]:
        return iter(self._kept)

    def __getitem__(self, position: int) -> ItemProblem:
        return self._kept[position]

    @property
    def kept(self) -> list[ItemProblem]:
        """The problems kept, in the order found."""
        return list(self._kept)

    @property
    def more(self) -> int:
        """How many problems were counted but not kept."""
        return self._total - len(self._kept)

    def error(self, accepted: int = 0) -> MalformedInput:
        """The 400 that names the kept problems and counts the others."""
        return MalformedInput(self._kept, accepted=accepted, more=self.more)


@dataclass(slots=True)
class Decoded:
    """What a decoder made of a body: the valid alerts and the problems of the invalid items."""

    alerts: list[Alert] = field(default_factory=list)
    problems: ProblemList = field(default_factory=ProblemList)
    # Items decoded, valid or not: those without an alert are the invalid ones.
    items: int = 0

    @property
    def invalid(self) -> int:
        """How many items were invalid (each counts once, however many problems it has)."""
        return self.items - len(self.alerts)


# One item: (its index in the batch, or None for a lone object; the JSON value).
Item = tuple[int | None, Any]
# Decodes one item, recording its problems in the list; None if the item is invalid.
ItemDecoder = Callable[[int | None, Any, ProblemList, AlertLimits, str, datetime], Alert | None]
# Items sliced between two yields to the event loop: a few milliseconds of decoding.
SLICE_ITEMS = 256


@dataclass(frozen=True, slots=True)
class BatchFormat:
    """A wire format: ``items`` opens the envelope (raising MalformedInput if it is wrong),
    ``decode`` decodes one item."""

    items: Callable[[Any], list[Item]]
    decode: ItemDecoder


def envelope_error(field_name: str, reason: str) -> MalformedInput:
    """The 400 of a body whose envelope is wrong: no item can be read from it."""
    return MalformedInput([ItemProblem(None, field_name, reason)])


def decode_body(
    fmt: BatchFormat, body: Any, source: str, now: datetime, limits: AlertLimits
) -> Decoded:
    """Decodes a whole body at once (for tests and small callers); envelope errors are problems."""
    try:
        items = fmt.items(body)
    except MalformedInput as exc:
        return Decoded(problems=ProblemList(exc.problems))
    decoded = Decoded()
    _decode_slice(fmt, items, decoded, limits, source, now)
    return decoded


async def decode_items(
    fmt: BatchFormat, items: list[Item], limits: AlertLimits, source: str, now: datetime
) -> Decoded:
    """Decodes ``items`` in slices, letting other requests run between two slices."""
    decoded = Decoded()
    for start in range(0, len(items), SLICE_ITEMS):
        if start:
            await asyncio.sleep(0)  # a yield, not a wait: /-/healthy and others run here
        _decode_slice(fmt, items[start : start + SLICE_ITEMS], decoded, limits, source, now)
    return decoded


def _decode_slice(
    fmt: BatchFormat,
    items: list[Item],
    decoded: Decoded,
    limits: AlertLimits,
    source: str,
    now: datetime,
) -> None:
    for index, item in items:
        alert = fmt.decode(index, item, decoded.problems, limits, source, now)
        if alert is not None:
            decoded.alerts.append(alert)
    decoded.items += len(items)
