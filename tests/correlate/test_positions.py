"""Log positions compare in log order, SQLite's sequence numbers and Redis' stream ids alike."""

from __future__ import annotations

import pytest

from correlate.positions import is_after, position_key

CASES = [
    # SQLite, same length: compared as text.
    ("42", "17", True),
    ("17", "42", False),
    ("42", "42", False),
    # SQLite, different lengths: the longer number is later, whatever its first digit.
    ("100", "99", True),
    ("99", "100", False),
    ("1", "1000000", False),
    # Redis: milliseconds, then the sequence within the millisecond, as numbers.
    ("1700-10", "1700-9", True),
    ("1700-9", "1700-10", False),
    ("1701-0", "1700-99", True),
    ("1700-3", "1700-3", False),
    # Redis' id without a sequence counts as sequence 0.
    ("1700-1", "1700", True),
    ("1700", "1700-1", False),
]


@pytest.mark.parametrize(("position", "reference", "later"), CASES)
def test_is_after_follows_log_order(position: str, reference: str, later: bool) -> None:
    assert is_after(position, reference) is later
    # The same order as the sortable key the positions are sorted by.
    assert (position_key(position) > position_key(reference)) is later
