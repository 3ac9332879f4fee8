"""Log positions compared in log order, whatever the backend writes them as."""

from __future__ import annotations


def position_key(position: str) -> tuple[int, int]:
    """Returns a sortable key for a log position: SQLite's ``"42"`` or Redis' ``"1700-3"``."""
    head, _, tail = position.partition("-")
    return int(head), int(tail or 0)


def is_after(position: str, reference: str) -> bool:
    """Tells whether ``position`` comes later in the log than ``reference``."""
    # SQLite's positions (its sequence numbers: ASCII decimals, no leading zeros) compare
    # by length, then as text: no parsing, and the stages compare once or twice an entry.
    if position.isdecimal() and reference.isdecimal():
        if len(position) != len(reference):
            return len(position) > len(reference)
        return position > reference
    return position_key(position) > position_key(reference)
