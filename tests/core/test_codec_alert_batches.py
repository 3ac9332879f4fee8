"""Stored alert bodies read a list at a time: batches whole, single documents gathered."""

from __future__ import annotations

import orjson
import pytest

from core.codec import alert_batches


def single(name: str) -> bytes:
    return orjson.dumps({"fingerprint": name})


def batch(*names: str) -> bytes:
    return orjson.dumps([{"fingerprint": n} for n in names])


@pytest.mark.parametrize(
    ("bodies", "lists"),
    [
        # Single documents (Redis: one per hash field) are gathered, two at a time here.
        ([single("a"), single("b"), single("c")], [["a", "b"], ["c"]]),
        # A stored batch comes whole, and ends the gathering before it, order kept.
        ([single("a"), batch("b", "c"), single("d")], [["a"], ["b", "c"], ["d"]]),
        # Nothing stored: nothing to read.
        ([], []),
    ],
)
def test_bodies_come_a_list_at_a_time_in_order(bodies: list[bytes], lists: list[list[str]]) -> None:
    read = [[d["fingerprint"] for d in documents] for documents in alert_batches(bodies, 2)]
    assert read == lists
