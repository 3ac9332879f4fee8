"""Rows in the order of their keys (fingerprints), sorted a piece at a time.

The open alerts are shown by fingerprint. One ``sorted`` of 100,000 rows is a single C
call of 20 to 50 ms that holds the GIL, so the event loop waits for it even though the
render runs in a worker thread. Here each sort is of a few thousand rows: the rows are
cut into pieces at keys taken from a sample of all of them (every few hundredth row,
however the rows fall into runs: 1,000 incidents of 100 alerts are cut as finely as 20
of 5,000), and the pieces are sorted one after another, with the interpreter free to
switch to the event loop in between.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from itertools import chain, islice

# Rows sorted at once: about a millisecond of sort.
PIECE = 2048
# Keys sampled per piece: the cuts are every SAMPLED-th key of the sorted sample, so that
# pieces come out near PIECE rows even where the sample is uneven.
SAMPLED = 8


def runs_in_order(
    keys: Sequence[str], runs: Sequence[Sequence[int]], piece: int = PIECE
) -> list[int]:
    """The rows of the runs, each sorted by key already, all in key order.

    Rows of equal keys keep the order of their runs (and within a run), as a stable
    sort of the runs one after another would.
    """
    key = keys.__getitem__
    order: list[int] = []
    for part in pieces(keys, runs, piece):
        part.sort(key=key)
        order.extend(part)
    return order


def pieces(
    keys: Sequence[str], runs: Sequence[Sequence[int]], piece: int = PIECE
) -> Iterator[list[int]]:
    """The runs' rows cut at the same keys into pieces of about ``piece`` rows.

    The pieces come in key order, each in the order of the runs (so a stable sort of
    each keeps equal keys in run order); a piece's rows are not sorted.
    """
    key = keys.__getitem__
    stride = max(1, piece // SAMPLED)
    sample = sorted({key(row) for row in islice(chain.from_iterable(runs), 0, None, stride)})
    cuts = sample[SAMPLED::SAMPLED]
    if not cuts:
        yield list(chain.from_iterable(runs))
        return
    rows = sum(map(len, runs))
    if len(runs) * len(cuts) <= rows:
        # Few long runs (an incident's alerts, sorted): each is cut where the keys cross.
        bounds = [[0, *(bisect_left(run, c, key=key) for c in cuts), len(run)] for run in runs]
        for n in range(len(cuts) + 1):
            cut = (r[b[n] : b[n + 1]] for r, b in zip(runs, bounds, strict=True))
            yield list(chain.from_iterable(cut))
        return
    # Many short runs: each row goes to the piece of its key.
    parts: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for row in chain.from_iterable(runs):
        parts[bisect_right(cuts, key(row))].append(row)
    yield from parts


def rows_in_order(keys: Sequence[str], rows: Sequence[int], piece: int = PIECE) -> list[int]:
    """The rows in the order of their keys (stable), sorted a piece at a time."""
    key = keys.__getitem__
    runs = [sorted(rows[i : i + piece], key=key) for i in range(0, len(rows), piece)]
    return runs_in_order(keys, runs, piece)
