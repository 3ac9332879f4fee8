"""Rows in the order of their keys (fingerprints), sorted a piece at a time.

The open alerts are shown by fingerprint. One ``sorted`` of 100,000 rows is a single C
call of 20 to 50 ms that holds the GIL, so the event loop waits for it even though the
render runs in a worker thread. Here each sort is of a few thousand rows: sorted runs
are cut at the same keys (``bisect``, found from a sample of every run), and the pieces
between two cuts are sorted one after another, with the interpreter free to switch to
the event loop in between.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import chain

# Rows sorted at once: about a millisecond of sort.
PIECE = 2048


def runs_in_order(
    keys: Sequence[str], runs: Sequence[Sequence[int]], piece: int = PIECE
) -> list[int]:
    """The rows of the runs, each sorted by key already, all in key order.

    Rows of equal keys keep the order of their runs (and within a run), as a stable
    sort of the runs one after another would.
    """
    key = keys.__getitem__
    # A cut every ``piece`` rows of every run: pieces of some ``piece`` rows each.
    cuts = sorted({key(run[i]) for run in runs for i in range(piece, len(run), piece)})
    bounds = [[0, *(bisect_left(run, c, key=key) for c in cuts), len(run)] for run in runs]
    order: list[int] = []
    for n in range(len(cuts) + 1):
        part = list(
            chain.from_iterable(r[b[n] : b[n + 1]] for r, b in zip(runs, bounds, strict=True))
        )
        part.sort(key=key)
        order.extend(part)
    return order


def rows_in_order(keys: Sequence[str], rows: Sequence[int], piece: int = PIECE) -> list[int]:
    """The rows in the order of their keys (stable), sorted a piece at a time."""
    key = keys.__getitem__
    runs = [sorted(rows[i : i + piece], key=key) for i in range(0, len(rows), piece)]
    return runs_in_order(keys, runs, piece)
