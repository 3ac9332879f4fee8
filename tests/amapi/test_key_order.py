"""Rows put in fingerprint order a piece at a time come out as one stable sort would."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from tocsin.amapi.key_order import PIECE, pieces, rows_in_order, runs_in_order


def fingerprints(count: int, repeats: int, seed: int) -> list[str]:
    """``count`` random fingerprints, ``repeats`` of them copies of others (shared alerts)."""
    chosen = random.Random(seed)
    keys = [f"{chosen.getrandbits(64):016x}" for _ in range(count)]
    for _ in range(repeats):
        keys[chosen.randrange(count)] = keys[chosen.randrange(count)]
    return keys


@pytest.mark.parametrize(
    ("count", "repeats", "piece"),
    [
        (0, 0, 4),  # nothing to order
        (1, 0, 4),  # one row
        (5, 0, 2),  # more pieces than rows in each
        (1_000, 300, 16),  # many equal keys, some across the cuts between pieces
        (20_000, 10, 2_048),  # the default piece
    ],
)
def test_the_order_is_a_stable_sorts(count: int, repeats: int, piece: int) -> None:
    keys = fingerprints(count, repeats, seed=count)
    key = keys.__getitem__
    assert rows_in_order(keys, range(count), piece) == sorted(range(count), key=key)
    # Runs each sorted already (an incident's alerts), merged: equal keys in run order.
    edges = sorted({0, count, *random.Random(piece).sample(range(count + 1), min(6, count))})
    runs = [sorted(range(a, b), key=key) for a, b in pairwise(edges)]
    whole = [row for run in runs for row in run]
    assert runs_in_order(keys, runs, piece) == sorted(whole, key=key)


def test_only_the_rows_given_are_ordered() -> None:
    keys = ["c", "a", "b", "a"]
    assert rows_in_order(keys, [0, 2, 3], piece=1) == [3, 2, 0]


@pytest.mark.parametrize(
    ("runs", "size"),
    [
        (20, 5_000),  # a few large incidents
        (1_000, 100),  # many of 100: a run is shorter than a piece
        (100_000, 1),  # an incident per alert
    ],
)
def test_every_piece_is_small_however_the_rows_fall_into_runs(runs: int, size: int) -> None:
    keys = fingerprints(runs * size, 0, seed=runs)
    key = keys.__getitem__
    ordered = [sorted(range(r * size, (r + 1) * size), key=key) for r in range(runs)]

    cut = list(pieces(keys, ordered, PIECE))

    # One piece of 100,000 was a single sort of 20-50 ms holding the GIL.
    assert max(map(len, cut)) <= 3 * PIECE
    assert sum(map(len, cut)) == runs * size
    assert runs_in_order(keys, ordered, PIECE) == sorted(range(runs * size), key=key)


def test_many_short_runs_keep_equal_keys_in_run_order() -> None:
    keys = fingerprints(30_000, 5_000, seed=7)
    key = keys.__getitem__
    runs = [sorted(range(r * 10, r * 10 + 10), key=key) for r in range(3_000)]
    whole = [row for run in runs for row in run]
    assert runs_in_order(keys, runs, 64) == sorted(whole, key=key)
